module goswarm/loadgen

go 1.19
