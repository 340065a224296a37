import { IndexReservations } from './index-reservations.js';

it("keeps an index for its ENI a while, others' only; releases on request", () => {
  let now = 0;
  const r = new IndexReservations(30_000, () => now);
  r.reserve('i-1', 'eni-a', 1);
  r.reserve('i-1', 'eni-b', 2);
  r.reserve('i-2', 'eni-c', 1);
  expect(r.heldByOthers('i-1', 'eni-a')).toEqual([2]);
  expect(r.heldByOthers('i-1', 'eni-z')).toEqual([1, 2]);
  r.release('i-1', 'eni-z', 2); // not its reservation: kept
  expect(r.heldByOthers('i-1', 'eni-z')).toEqual([1, 2]);
  r.release('i-1', 'eni-b', 2);
  expect(r.heldByOthers('i-1', 'eni-z')).toEqual([1]);
  now = 30_000;
  expect(r.heldByOthers('i-1', 'eni-z')).toEqual([]);
  expect(r.heldByOthers('i-2', 'eni-z')).toEqual([]);
});
