module goswarm/tcpedge

go 1.19
