module accountservice

go 1.19
