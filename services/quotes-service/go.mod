module quotesservice

go 1.19
