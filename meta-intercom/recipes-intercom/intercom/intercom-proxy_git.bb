SUMMARY = "House SIP proxy for door stations"
DESCRIPTION = "intercom-proxy is a SIP registrar and proxy with digest \
               authentication, Flexisip-compatible passwd and static routes \
               files and parallel forking. It has no media dependencies."

require intercom.inc

SRC_URI += "file://intercom-proxy.service"

INTERCOM_PACKAGE = "intercom-proxy"

USERADD_PARAM:${PN} = "--system --home-dir /nonexistent --no-create-home \
                       --shell /sbin/nologin --user-group intercom"

do_install:append() {
    intercom_install_common
    # The board's defaults: SIP on 0.0.0.0:5060 (the station is on 127.0.0.1:5062).
    install -m 0644 ${S}/assets/pi/proxy.toml ${D}${sysconfdir}/door-station/proxy.toml
    install -m 0644 ${S}/assets/routes ${D}${sysconfdir}/door-station/routes
    # HA1 hashes: readable by the proxy's group only.
    install -m 0640 -g intercom ${S}/assets/passwd ${D}${sysconfdir}/door-station/passwd
}

CONFFILES:${PN} = "${sysconfdir}/door-station/proxy.toml \
                   ${sysconfdir}/door-station/routes \
                   ${sysconfdir}/door-station/passwd \
"

# A target daemon with a systemd unit: no native variant.
BBCLASSEXTEND = ""
