'use strict';

const { clamp } = require('./math');

class Cart {
  constructor() {
    this.items = [];
  }

  add(name, qty = 1) {
    this.items.push({ name, qty: clamp(qty, 1, 99) });
    return this;
  }

  total(prices) {
    let sum = 0;
    for (const item of this.items) {
      const price = prices[item.name] || 0;
      sum += price * item.qty;
    }
    return sum;
  }

  clear() {
    this.items = [];
  }
}

module.exports = { Cart };
