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

# Cargo features of the door-station package (the OSDP reader, libosdp, is
# always built: it is small and idle unless [osdp] is configured).
#   rpi:  GPIO buttons, relay, Wiegand, door inputs and RS-485 direction (rppal)
#   gst:  GStreamer camera (v4l2src, v4l2h264enc), microphone, speaker, echo canceller
#   alsa: ALSA microphone and speaker
#   v4l:  V4L2 capture through libv4l (bindings generated with clang)
PACKAGECONFIG ??= "rpi gst alsa v4l"
PACKAGECONFIG[rpi] = "--features rpi"
PACKAGECONFIG[gst] = "--features gst,,gstreamer1.0 gstreamer1.0-plugins-base,gstreamer1.0-plugins-good"
PACKAGECONFIG[alsa] = "--features alsa,,alsa-lib"
PACKAGECONFIG[v4l] = "--features v4l,,v4l-utils clang-native"

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
