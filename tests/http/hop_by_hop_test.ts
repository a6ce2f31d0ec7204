import { test } from "node:test";
import assert from "node:assert/strict";
import type { Fields } from "../../lib/http/headers.ts";
import { stripHopByHop } from "../../lib/http/hop_by_hop.ts";

test("stripHopByHop() removes the fixed hop-by-hop fields, in any case", () => {
  const fields: Fields = [
    ["Host", "a"],
    ["Connection", "keep-alive"],
    ["PROXY-CONNECTION", "keep-alive"],
    ["Keep-Alive", "timeout=5"],
    ["te", "gzip"],
    ["Transfer-Encoding", "chunked"],
    ["Upgrade", "websocket"],
    ["Proxy-Authenticate", "Basic"],
    ["proxy-authorization", "Basic eA=="],
    ["Accept", "*/*"],
  ];
  assert.deepEqual(stripHopByHop(fields), [["Host", "a"], ["Accept", "*/*"]]);
});

test("stripHopByHop() removes the fields named in Connection", () => {
  const fields: Fields = [
    ["Connection", "X-Secret, , x-Other"],
    ["X-Secret", "1"],
    ["X-Kept", "2"],
    ["x-other", "3"],
    ["connection", " X-Third "],
    ["X-THIRD", "4"],
    ["Authorization", "Bearer t"],
  ];
  assert.deepEqual(stripHopByHop(fields), [["X-Kept", "2"], ["Authorization", "Bearer t"]]);
});

test("stripHopByHop() keeps every other field in order, names and values untouched", () => {
  const fields: Fields = [["b", "1"], ["A", " 2 "], ["b", "3"], ["Set-Cookie", "x=1"], ["Set-Cookie", "y=2"]];
  assert.deepEqual(stripHopByHop(fields), fields);
});

test("stripHopByHop() drops TE from responses, where it means nothing (RFC 9110 §10.1.4)", () => {
  assert.deepEqual(stripHopByHop([["Host", "a"], ["TE", "trailers"]], "response"), [["Host", "a"]]);
});

test("stripHopByHop() keeps TE: trailers", () => {
  assert.deepEqual(stripHopByHop([["Host", "a"], ["TE", "trailers"]]), [["Host", "a"], ["TE", "trailers"]]);
  assert.deepEqual(stripHopByHop([["te", "Trailers"], ["Host", "a"]]), [["Host", "a"], ["TE", "trailers"]]);
});

test("stripHopByHop() keeps only trailers of a TE list", () => {
  assert.deepEqual(stripHopByHop([["TE", "gzip;q=0.5, trailers"]]), [["TE", "trailers"]]);
  assert.deepEqual(stripHopByHop([["TE", "deflate"], ["TE", "trailers"]]), [["TE", "trailers"]]);
  assert.deepEqual(stripHopByHop([["TE", "gzip"]]), []);
});

test("stripHopByHop() keeps TE: trailers even when Connection names TE", () => {
  assert.deepEqual(stripHopByHop([["Connection", "TE"], ["TE", "trailers"]]), [["TE", "trailers"]]);
});

test("stripHopByHop() does not change its input", () => {
  const fields: Fields = [["Connection", "x"], ["X", "1"], ["Y", "2"]];
  const copy = structuredClone(fields);
  stripHopByHop(fields);
  assert.deepEqual(fields, copy);
});
