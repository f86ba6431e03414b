module example.com/polycov/calc

go 1.19
