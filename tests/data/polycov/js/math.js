'use strict';

function clamp(value, low, high) {
  if (value < low) {
    return low;
  }
  if (value > high) {
    return high;
  }
  return value;
}

function grade(score) {
  const s = clamp(score, 0, 100);
  if (s >= 90) return 'A';
  if (s >= 75) return 'B';
  if (s >= 50) return 'C';
  return 'F';
}

function describe(items) {
  // a comment line, and a blank one below

  const names = items.map((item) => item.name);
  return names.length > 0 ? names.join(', ') : 'nothing';
}

function unused(x) {
  const doubled = x * 2;
  return doubled + 1;
}

module.exports = { clamp, grade, describe, unused };
