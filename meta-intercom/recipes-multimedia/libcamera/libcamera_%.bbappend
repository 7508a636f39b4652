# libcamerasrc, the GStreamer source the station reads the camera with.
PACKAGECONFIG:append:rpi = " gst"
