module goswarm/bench/loadgen

go 1.19
