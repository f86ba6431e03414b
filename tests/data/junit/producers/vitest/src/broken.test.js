import './does-not-exist.js';
import { test } from 'vitest';
test('never runs', () => {});
