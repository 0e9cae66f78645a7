module goswarm/edge

go 1.19
