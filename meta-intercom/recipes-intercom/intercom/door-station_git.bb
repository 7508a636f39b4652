SUMMARY = "SIP video door station daemon"
DESCRIPTION = "door-station rings SIP phones when the call button is pressed, \
               sends H.264 video and Opus/G.711 audio (early media included), \
               and opens the door strike relay on a DTMF code from an allowed caller."

# audiopus links the system libopus through pkg-config.
DEPENDS += "libopus"

require intercom.inc

SRC_URI += "file://door-station.service \
            file://60-door-station.rules \
"

INTERCOM_PACKAGE = "door-station"

# Cargo features of the door-station package.
#   rpi:  GPIO call buttons and relay through rppal (/dev/gpiochip*)
#   osdp: OSDP reader emulation towards an access-control panel (libosdp, RS-485)
PACKAGECONFIG ??= "rpi"
PACKAGECONFIG[rpi] = "--features rpi"
PACKAGECONFIG[osdp] = "--features osdp"

# /dev/gpiochip* is root-only by default: the udev rule gives it to group gpio.
GROUPADD_PARAM:${PN} = "--system gpio"
USERADD_PARAM:${PN} = "--system --home-dir /nonexistent --no-create-home \
                       --shell /sbin/nologin --user-group --groups gpio,audio,video,dialout doorstation"

do_install:append() {
    intercom_install_common
    # The board's defaults: SIP on 127.0.0.1:5062 behind the proxy on 5060,
    # relay and buttons on GPIO lines.
    install -m 0640 -g doorstation ${S}/assets/pi/station.toml ${D}${sysconfdir}/door-station/station.toml
    if ${@bb.utils.contains('PACKAGECONFIG', 'rpi', 'false', 'true', d)}; then
        # Built without the rppal back-ends: simulated relay and buttons.
        sed -i 's/^backend = "rpi"/backend = "sim"/' ${D}${sysconfdir}/door-station/station.toml
    fi
    install -d ${D}${nonarch_base_libdir}/udev/rules.d
    install -m 0644 ${UNPACKDIR}/60-door-station.rules ${D}${nonarch_base_libdir}/udev/rules.d/
}

FILES:${PN} += "${nonarch_base_libdir}/udev/rules.d/60-door-station.rules"
CONFFILES:${PN} = "${sysconfdir}/door-station/station.toml"

# A target daemon with a systemd unit and hardware back-ends: no native variant.
BBCLASSEXTEND = ""
