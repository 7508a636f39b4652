# door-station: build, run and test on a Debian 12 machine.
#   make run    build, install what is missing, start the demo on loopback
#   make test   everything, real SIP peers included
SHELL := /bin/bash
CARGO ?= cargo
PROFILE ?= release

# Debian packages the build needs (GStreamer, ALSA, v4l, bindgen, openh264's C++ build).
DEB_BUILD := build-essential pkg-config clang libclang-dev cmake nasm \
	libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev libasound2-dev libv4l-dev libopus-dev
# Real SIP peers and the wire inspector the tests talk to.
DEB_PEERS := sip-tester baresip baresip-ffmpeg linphone-cli mediastreamer2-plugin-openh264 kamailio tshark socat python3 \
	gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly \
	gstreamer1.0-libav libasound2-data
DEPS_STAMP := target/.deps-stamp

.PHONY: all build deps run test test-unit test-e2e bench check-config clean

all: build

$(DEPS_STAMP): Makefile
	@missing=$$(for p in $(DEB_BUILD) $(DEB_PEERS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages: $$missing"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q --no-install-recommends $$missing; \
	fi
	@mkdir -p target && touch $@

deps: $(DEPS_STAMP)

build: deps
	$(CARGO) build --workspace --bins --profile $(PROFILE)

run: build
	assets/demo/run.sh target/$(PROFILE)

check-config: build
	target/$(PROFILE)/door-station --check-config --config assets/station.toml

# Unit and deterministic tests first (seconds), then the real-peer tests.
test: deps
	$(CARGO) build --workspace --bins --profile $(PROFILE)
	$(CARGO) test --workspace --exclude door-station-e2e --all-features --profile $(PROFILE)
	DOOR_STATION_BIN_DIR=$(CURDIR)/target/$(PROFILE) $(CARGO) test -p door-station-e2e --profile $(PROFILE) --no-fail-fast -- --test-threads=1

test-unit:
	$(CARGO) test --workspace --exclude door-station-e2e --all-features

bench: build
	$(CARGO) bench --workspace

clean:
	$(CARGO) clean

# Raspberry Pi builds: cross-compiled binaries (cross/README.md) and the Yocto
# SD-card image (meta-intercom/README.md).
MACHINE ?= raspberrypi4-64
.PHONY: cross-aarch64 cross-armv7 image lint-layer

cross-aarch64:
	cross/setup-sysroot.sh arm64
	cross/build.sh aarch64-unknown-linux-gnu

cross-armv7:
	cross/setup-sysroot.sh armhf
	cross/build.sh armv7-unknown-linux-gnueabihf

# Run as an unprivileged user; MACHINE=raspberrypi5 for a Pi 5.
image:
	meta-intercom/scripts/build-image.sh $(MACHINE)

lint-layer:
	meta-intercom/scripts/lint-layer.sh

.PHONY: bench-proxy
# intercom-proxy against kamailio under the same SIPp load, on loopback; prints a table.
bench-proxy: deps
	$(CARGO) build -p intercom-proxy --profile $(PROFILE)
	door-station/proxy/benches/vs_kamailio.sh $(or $(CARGO_TARGET_DIR),target)/$(PROFILE)/intercom-proxy
