# hotline — build, run, test.
# `make run` builds and starts the box with two simulated modems; `make test` installs what the
# tests need (Debian packages, when root) and runs every test.

GO        ?= go
BIN       := bin/hotline
VERSION   ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -s -w -X main.version=$(VERSION)
DATA      ?= ./var
LISTEN    ?= 127.0.0.1:8080
FUZZTIME  ?= 5s
# go.mod's `toolchain` line names the Go release the box is built with (the oldest one without
# known vulnerabilities in what the box calls); the go command fetches it from the module proxy
# when the installed one is older. (Its `go` line stays lower, so that go vet and the editors
# work with an older Go; `make vulncheck` fails a build made with a vulnerable one.)
export GOTOOLCHAIN := auto
# Debian packages the tests use: speech and tools for audio, a real browser for the admin,
# systemd-analyze for the service unit, mkfs.ext4 for the image, real speech and music for the
# DTMF talk-off tests, real SIP phones (sipp, baresip) for the operators' side, wrk for load,
# qemu for the boot test.
TEST_DEBS := espeak-ng sox chromium systemd e2fsprogs mtools squashfs-tools fdisk \
             asterisk-core-sounds-en-wav asterisk-core-sounds-ru-wav asterisk-moh-opsound-wav \
             libsox-fmt-mp3 sip-tester baresip-core wrk qemu-system-x86 qemu-user-static

.PHONY: all build run test test-deps lint vulncheck cross cross-test bench bench-dsp fuzz soak prompts clean deb image image-test boot-test update-file

all: build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) .

run: build
	$(BIN) run --sim 2 --data $(DATA) --listen $(LISTEN)

# Installs the Debian packages the tests need when they are missing (as root; otherwise it
# says what to install and the tests that need them fail).
test-deps:
	@missing=""; for p in $(TEST_DEBS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	  else echo "please install:$$missing (sudo apt-get install$$missing)"; fi; \
	fi

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) vet -tags boottest ./image/boottest
	$(GO) tool staticcheck ./...
	$(GO) tool staticcheck -tags boottest ./image/boottest
	$(GO) vet -tags imagetest ./image
	$(GO) tool staticcheck -tags imagetest ./image
	$(MAKE) --no-print-directory vulncheck

# Tests that judge real-time audio against programs outside the box's process (wrk hammering
# the admin while calls are up, baresip as an operator's phone, the soak's simulated modems in
# a process of their own): they run after the rest, one package at a time, so the machine is
# as quiet as a box, which runs nothing but hotline, and without the race detector, which
# makes every goroutine several times slower than the program a box runs (the same code runs
# under it in the other tests).
RT_TESTS := ^(TestLoadWhileCallsUp|TestBaresipOperator|TestSoak)$$

test: test-deps lint cross
	$(GO) test -race -count=1 -timeout 20m -skip '$(RT_TESTS)' ./...
	$(GO) test -count=1 -p 1 -timeout 10m -run '$(RT_TESTS)' . ./voice/sip
	$(MAKE) cross-test
	$(MAKE) boot-test
	$(MAKE) image-test
	$(MAKE) fuzz FUZZTIME=20000x

# Known vulnerabilities in the code we call, from the Go vulnerability database (GOVULNDB: its
# address, or file:///path of a mirror). A machine that cannot reach it checks against the
# database as it stood on a known day instead: golang.org/x/vulndb at VULNDB_SNAPSHOT, fetched
# through the Go module proxy and checked against the checksum database like any module (its
# data/osv folder is the database, one file per vulnerability). It says which it used; a finding
# fails the check either way.
GOVULNDB        ?= https://vuln.go.dev
VULNDB_SNAPSHOT ?= v0.0.0-20261105234957-e22db6528018
vulncheck:
	@host=$$(echo '$(GOVULNDB)' | sed -n 's#^https*://\([^/:]*\).*#\1#p'); \
	if [ -n "$$host" ] && ! getent hosts "$$host" >/dev/null; then \
	  dir=$$($(GO) mod download -json golang.org/x/vulndb@$(VULNDB_SNAPSHOT) | sed -n 's#^[[:space:]]*"Dir": "\(.*\)",*$$#\1#p'); \
	  if [ -z "$$dir" ] || [ ! -d "$$dir/data/osv" ]; then \
	    echo "vulncheck: NOT CHECKED: $$host cannot be reached and golang.org/x/vulndb@$(VULNDB_SNAPSHOT) could not be fetched"; exit 1; fi; \
	  echo "vulncheck: $$host cannot be reached; checking against the database of golang.org/x/vulndb@$(VULNDB_SNAPSHOT) ($$(ls "$$dir/data/osv" | wc -l) entries)"; \
	  $(GO) tool govulncheck -db "file://$$dir/data/osv" ./...; \
	else $(GO) tool govulncheck -db '$(GOVULNDB)' ./...; fi

# Boots the PC image (gokrazy, amd64) under qemu with a simulated EC25 on two USB serial
# ports, takes a call that leaves a voicemail, cuts the power, boots again and checks that
# the call log and the voicemail survived (docs/IMAGE.md).
# The flashable Pi image: built, taken apart and checked (boot files, stripped programs, /perm,
# under 100 MB).
image-test:
	$(GO) test -tags imagetest -count=1 -timeout 15m -run TestPiImage -v ./image

boot-test:
	$(GO) test -tags boottest -count=1 -timeout 20m -v ./image/boottest

# The binary must build without cgo for the boards: Pi 3/4/5/Zero 2 W (arm64), older Pis (armv7, armv6).
cross:
	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build -trimpath -o /dev/null .
	CGO_ENABLED=0 GOOS=linux GOARCH=arm GOARM=7 $(GO) build -trimpath -o /dev/null .
	CGO_ENABLED=0 GOOS=linux GOARCH=arm GOARM=6 $(GO) build -trimpath -o /dev/null .

# The unit tests of the code that meets the hardware and the disk also run on the boards' own
# architectures, arm64 and armv7, under qemu-user (no binfmt needed: go test -exec).
CROSS_PKGS := ./voice ./voice/wav ./voice/tone ./hw/modem ./hw/sms ./hw/phone ./hw/gsm ./daemon/store
cross-test:
	HOTLINE_TEST_EXEC=qemu-aarch64-static CGO_ENABLED=0 GOARCH=arm64 $(GO) test -count=1 -exec qemu-aarch64-static $(CROSS_PKGS)
	HOTLINE_TEST_EXEC=qemu-arm-static CGO_ENABLED=0 GOARCH=arm GOARM=7 $(GO) test -count=1 -exec qemu-arm-static $(CROSS_PKGS)

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./voice/... ./hw/... ./daemon/store/... ./daemon/switchboard/...
	$(GO) test -run '^$$' -bench Answer -benchtime 10x ./daemon/
	$(GO) test -run '^$$' -bench Pages -benchtime 20x ./web

# Our DTMF receiver side by side with spandsp and multimon-ng over one corpus (docs/DSP.md).
bench-dsp:
	@for p in libspandsp-dev multimon-ng; do dpkg -s $$p >/dev/null 2>&1 || { echo "bench-dsp needs: apt-get install libspandsp-dev multimon-ng"; exit 1; }; done
	$(GO) run -tags dspbench ./voice/dspbench

# Every fuzz target for FUZZTIME each (make fuzz FUZZTIME=10m for a long run).
fuzz:
	@set -e; for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "fuzz $$pkg $$f"; \
	    out=$$($(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg 2>&1) || { echo "$$out" | grep -v 'level=' | tail -40; exit 1; }; \
	  done; done

soak:
	HOTLINE_SOAK=1 $(GO) test -run Soak -timeout 5h -v ./...

# Debian packages: dist/hotline_VERSION_{arm64,armhf,amd64}.deb
deb:
	GO=$(GO) image/build-deb.sh '$(VERSION)' dist
	@ls -l dist/*.deb

# Flashable Raspberry Pi image (gokrazy): dist/hotline-rpi.img
image:
	GO=$(GO) image/build-image.sh '$(VERSION)' dist/hotline-rpi.img

# A signed update file for the admin's Software update page (docs/UPDATE.md):
#   make update-file KEY=path/to/hotline-update.key [UPDATE_ARCH=arm64|armv7|armv6|amd64]
UPDATE_ARCH ?= arm64
update-file: build
	@test -n '$(KEY)' || { echo 'usage: make update-file KEY=path/to/hotline-update.key [UPDATE_ARCH=arm64|armv7|armv6|amd64]' >&2; exit 2; }
	@mkdir -p dist
	set -e; case '$(UPDATE_ARCH)' in \
	  armv7) goarch=arm; goarm=7 ;; armv6) goarch=arm; goarm=6 ;; *) goarch='$(UPDATE_ARCH)'; goarm=7 ;; esac; \
	out=dist/hotline-$(VERSION)-$(UPDATE_ARCH); \
	CGO_ENABLED=0 GOOS=linux GOARCH=$$goarch GOARM=$$goarm $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $$out.bin .; \
	$(BIN) update sign --key '$(KEY)' --in $$out.bin --version '$(VERSION)' --out $$out.hotline-update; \
	rm -f $$out.bin; \
	$(BIN) update verify $$out.hotline-update

# Regenerates the default voice prompts from text (espeak-ng, sox).
prompts:
	voice/prompts/make-prompts.sh

clean:
	rm -rf bin dist
