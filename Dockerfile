# Build: docker build -t aaad .
# Run:   docker run --rm -p 1812:1812/udp -v $PWD/my-aaad.yaml:/etc/aaad/aaad.yaml:ro \
#          aaad --config /etc/aaad/aaad.yaml
#        (docker run aaad --check-config --config /configs/aaad.yaml checks the example)
# (the built-in defaults listen on loopback only, so give a config that
# listens on 0.0.0.0 and lists your access points.)
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/aaad ./cmd/aaad \
 && CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/aaactl ./cmd/aaactl

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/aaad /out/aaactl /
# The example config names configs/subscribers.csv relative to the working
# directory, as in the repository.
COPY configs/aaad.yaml configs/subscribers.csv /configs/
WORKDIR /
USER nonroot:nonroot
EXPOSE 1812/udp
ENTRYPOINT ["/aaad"]
