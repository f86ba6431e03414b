# The sample suites here are inputs for producer runs (generate.sh), not tests of this project.
collect_ignore = ["pytest"]
