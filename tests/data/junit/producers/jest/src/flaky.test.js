// Fails on the first attempt, passes on the retry.
jest.retryTimes(2);
let attempts = 0;
test('eventually passes', () => {
  attempts += 1;
  expect(attempts).toBeGreaterThan(1);
});
