'use strict';

const assert = require('assert');
const { grade, describe } = require('./math');
const { Cart } = require('./cart');

assert.strictEqual(grade(95), 'A');
assert.strictEqual(grade(80), 'B');
assert.strictEqual(grade(-5), 'F');
assert.strictEqual(describe([{ name: 'a' }, { name: 'b' }]), 'a, b');
const cart = new Cart().add('apple', 3).add('pear', 200);
assert.strictEqual(cart.total({ apple: 2 }), 6);
console.log('js tests passed');
