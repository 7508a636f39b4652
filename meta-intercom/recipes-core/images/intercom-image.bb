SUMMARY = "SD-card image of a SIP video door intercom"
DESCRIPTION = "Boots a Raspberry Pi 4 (raspberrypi4-64) or 5 (raspberrypi5) \
               into the door-station daemon, with the house proxy, the camera \
               stack (libcamera, V4L2 codecs for GStreamer), sound and the \
               UART for RS-485. Boot and console settings (UART without \
               console, camera overlay) are in conf/distro/intercom.conf, \
               since the BSP's boot recipes read them."
BUGTRACKER = "https://example.invalid/door-station/bugs"
SECTION = "images"
LICENSE = "MIT"
# An image is not a product CVE databases track; its packages are.
CVE_PRODUCT = ""

inherit core-image

IMAGE_FEATURES += "ssh-server-dropbear"

IMAGE_INSTALL:append = " \
    door-station \
    intercom-proxy \
    gstreamer1.0 \
    gstreamer1.0-plugins-base-app \
    gstreamer1.0-plugins-base-videoconvertscale \
    gstreamer1.0-plugins-base-alsa \
    gstreamer1.0-plugins-good-video4linux2 \
    gstreamer1.0-plugins-good-rtp \
    gstreamer1.0-plugins-good-udp \
    gstreamer1.0-plugins-bad-v4l2codecs \
    libcamera \
    libcamera-gst \
    v4l-utils \
    alsa-utils \
"

# A flashable SD card (wic) and its block map for bmaptool.
IMAGE_FSTYPES = "wic.bz2 wic.bmap"

COMPATIBLE_MACHINE = "^(raspberrypi4-64|raspberrypi5)$"
