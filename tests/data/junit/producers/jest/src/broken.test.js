// Fails to load: the suite has no test to report.
require('./does-not-exist');
test('never runs', () => {});
