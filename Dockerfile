# The shared image for every Go service: one static binary in an empty image.
# The build context holds only this file and the binary named by BINARY
# (dist/<service>-<os>-<arch>); a service can bring its own Dockerfile.
FROM scratch
ARG BINARY
COPY ${BINARY} /service
# nobody: scratch has no /etc/passwd, so the numeric ids are used as they are
USER 65534:65534
ENTRYPOINT ["/service"]
