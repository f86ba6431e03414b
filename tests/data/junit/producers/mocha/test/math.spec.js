const assert = require('assert');
describe('math', function () {
  it('adds', function () { assert.strictEqual(1 + 1, 2); });
  it('subtracts', function () { assert.strictEqual(2 - 1, 1); });
  it('multiplies wrongly', function () { assert.strictEqual(2 * 2, 5); });
  it.skip('divides (skipped)', function () {});
  it('rounds (pending, no body)');
  describe('nested', function () {
    it('compares', function () { assert.ok(2 > 1); });
    it('throws unexpectedly', function () { null.boom(); });
  });
});
describe('flaky', function () {
  this.retries(2);
  let attempts = 0;
  it('eventually passes', function () { attempts += 1; assert.ok(attempts > 1); });
});
describe('hooks', function () {
  before(function () { throw new Error('before hook failed'); });
  it('never runs', function () {});
});
