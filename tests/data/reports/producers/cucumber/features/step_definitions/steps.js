const assert = require('node:assert');
const { Before, Given, When, Then } = require('@cucumber/cucumber');

Before({ tags: '@broken-hook' }, function () {
  throw new Error('database down');
});

Given('a calculator', function () { this.result = 0; });
When('I add {int} and {int}', function (a, b) { this.result = a + b; });
When('I multiply {int} and {int}', function (a, b) { this.result = a * b; });
When('I square {int}', function (n) { this.result = n * n; });
When('I divide {int} by {int}', function (a, b) { return 'pending'; });
When('I need a GPU', function () { return 'skipped'; });
Then('the result is {int}', function (expected) { assert.strictEqual(this.result, expected); });
When('I press clear', function () { this.result = 0; });
When(/^I press (clear|reset)$/, function () { this.result = 0; });
