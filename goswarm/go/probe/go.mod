module goswarm/probe

go 1.19
