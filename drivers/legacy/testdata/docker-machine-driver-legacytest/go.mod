module example.test/legacytest

go 1.26
