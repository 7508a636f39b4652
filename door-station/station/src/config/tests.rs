use super::*;

const SHIPPED: &str = include_str!("../../../../assets/station.toml");

fn minimal(extra: &str) -> String {
    format!("[sip]\nuser = \"door\"\ndomain = \"home\"\n{extra}")
}

fn err(text: &str) -> String {
    parse(text, "station.toml").expect_err("config should be refused").to_string()
}

#[test]
fn shipped_file_is_valid_and_read_key_by_key() {
    let c = parse(SHIPPED, "station.toml").expect("assets/station.toml is valid");
    assert_eq!(c.sip.aor(), "sip:door@home");
    assert_eq!(c.sip.auth_user(), "door");
    assert_eq!(c.sip.registrar, Some("127.0.0.1:5070".parse().unwrap()));
    assert_eq!(c.sip.transport, SipTransport::Udp);
    assert_eq!(c.button.len(), 1);
    assert_eq!(c.button[0].target, "sip:everyone@home");
    assert_eq!(c.calls.allow_callers, vec!["sip:alice@home".to_string()]);
    assert_eq!(c.media.audio_codecs, vec![AudioCodec::Opus, AudioCodec::Pcmu, AudioCodec::Pcma]);
    assert_eq!(c.unlock.code, "#");
    assert_eq!(c.relay.backend, Backend::Sim);
    assert_eq!(c.relay.pulse_ms, 3000);
    assert_eq!(c.control.socket, PathBuf::from("/run/door-station/control.sock"));
}

#[test]
fn defaults_match_the_shipped_file_where_it_sets_no_site_value() {
    let c = parse(&minimal(""), "station.toml").unwrap();
    let shipped = parse(SHIPPED, "station.toml").unwrap();
    assert_eq!(c.calls.ring_timeout_s, shipped.calls.ring_timeout_s);
    assert_eq!(c.media, shipped.media);
    assert_eq!(c.relay, shipped.relay);
    assert_eq!(c.buttons, shipped.buttons);
    assert_eq!(c.control, shipped.control);
    assert_eq!(c.sip.registrar, None, "no registrar: the station does not register");
    assert_eq!(c.sip.listen.port(), 5060);
    assert!(c.button.is_empty());
}

#[test]
fn bad_code_names_file_line_key_and_fix() {
    let text = minimal("[unlock]\ncode = \"12a#\"\n");
    assert_eq!(
        err(&text),
        "station.toml:5: [unlock] code = \"12a#\": a code is one digit or a PIN of digits ending in '#'; \
         e.g. code = \"1234#\""
    );
}

#[test]
fn pin_must_end_in_hash_but_single_digit_need_not() {
    assert!(check::is_unlock_code("5"));
    assert!(check::is_unlock_code("#"));
    assert!(check::is_unlock_code("1234#"));
    assert!(!check::is_unlock_code("1234"));
    assert!(!check::is_unlock_code("#1#"));
    assert!(!check::is_unlock_code(""));
}

#[test]
fn missing_user_points_at_the_sip_table() {
    let e = err("# comment\n[sip]\ndomain = \"home\"\n");
    assert!(e.starts_with("station.toml:2: [sip] user is not set:"), "{e}");
    assert!(e.ends_with("e.g. user = \"door\""), "{e}");
}

#[test]
fn missing_sip_table_has_no_line() {
    let e = err("[calls]\nmax_call_s = 60\n");
    assert!(e.starts_with("station.toml: [sip] user is not set:"), "{e}");
}

#[test]
fn unknown_key_is_refused_with_its_line() {
    let e = err(&minimal("[relay]\npulse_ms = 500\npulse = 3\n"));
    assert!(e.starts_with("station.toml:6: pulse = 3: unknown field `pulse`"), "{e}");
    assert!(e.contains("pulse_ms"), "lists the known keys: {e}");
}

#[test]
fn unknown_table_is_refused() {
    let e = err(&minimal("[keypad]\nbits = 26\n"));
    assert!(e.starts_with("station.toml:4: [keypad]: unknown field `keypad`"), "{e}");
    let e = err(&minimal("[wiegand]\nbits = 26\n"));
    assert!(e.starts_with("station.toml:5: bits = 26: unknown field `bits`"), "{e}");
}

#[test]
fn wrong_type_and_bad_enum_name_the_line() {
    let e = err(&minimal("[calls]\nring_timeout_s = \"30\"\n"));
    assert!(e.starts_with("station.toml:5: ring_timeout_s = \"30\":"), "{e}");
    let e = err(&minimal("[relay]\nbackend = \"gpio\"\n"));
    assert!(e.starts_with("station.toml:5: backend = \"gpio\": unknown variant `gpio`"), "{e}");
    assert!(e.contains("`sim`") && e.contains("`rpi`"), "{e}");
}

#[test]
fn registrar_must_be_ip_port_or_empty() {
    let c = parse(&minimal("registrar = \"\"\n"), "station.toml").unwrap();
    assert_eq!(c.sip.registrar, None);
    let e = err(&minimal("registrar = \"proxy.home\"\n"));
    assert!(e.starts_with("station.toml:4: registrar = \"proxy.home\": \"proxy.home\" is not an IP:port"), "{e}");
}

#[test]
fn second_button_target_is_located_in_its_entry() {
    let text = minimal("[[button]]\ntarget = \"sip:a@home\"\n[[button]]\ngpio = 5\ntarget = \"tel:123\"\n");
    let e = err(&text);
    assert!(e.starts_with("station.toml:8: [[button]] #2 target = \"tel:123\": a button calls a SIP URI"), "{e}");
}

#[test]
fn caller_patterns() {
    for good in ["sip:alice@home", "*@home", "sips:bob@10.0.0.2"] {
        let text = minimal(&format!("[calls]\nallow_callers = [\"{good}\"]\n"));
        assert!(parse(&text, "station.toml").is_ok(), "{good}");
    }
    for bad in ["alice@home", "sip:alice@home;transport=tcp", "sip:@home", "*@", "sip:a b@home"] {
        let e = err(&minimal(&format!("[unlock]\nallow = [\"{bad}\"]\n")));
        assert!(e.starts_with("station.toml:5: [unlock] allow = "), "{bad}: {e}");
    }
}

#[test]
fn rtp_range_needs_even_start_and_four_ports() {
    let e = err(&minimal("[media]\nrtp_port_min = 20001\n"));
    assert!(e.contains("[media] rtp_port_min = 20001: RTP uses even ports"), "{e}");
    let e = err(&minimal("[media]\nrtp_port_min = 20000\nrtp_port_max = 20002\n"));
    assert!(e.starts_with("station.toml:6: [media] rtp_port_max = 20002: the range must hold at least 4 ports"), "{e}");
}

#[test]
fn codecs_are_named_and_listed_once() {
    let e = err(&minimal("[media]\naudio_codecs = [\"pcmu\", \"g729\"]\n"));
    assert!(e.contains("unknown variant `g729`"), "{e}");
    let e = err(&minimal("[media]\naudio_codecs = [\"pcmu\", \"pcmu\"]\n"));
    assert!(e.contains("[media] audio_codecs = [pcmu, pcmu]: each codec may be listed once"), "{e}");
    let e = err(&minimal("[media]\naudio_codecs = []\n"));
    assert!(e.contains("at least one audio codec"), "{e}");
}

#[test]
fn ranges_say_the_bounds() {
    let e = err(&minimal("[relay]\npulse_ms = 0\n"));
    assert_eq!(e, "station.toml:5: [relay] pulse_ms = 0: must be between 100 and 60000; e.g. pulse_ms = 3000");
    let e = err(&minimal("[media]\nvideo_width = 321\n"));
    assert!(e.contains("[media] video_width = 321: H.264 4:2:0 frames need an even size"), "{e}");
}

#[test]
fn relay_line_must_differ_from_button_lines() {
    let e = err(&minimal("[[button]]\ntarget = \"sip:a@home\"\ngpio = 26\n"));
    assert_eq!(e, "station.toml: [relay] gpio = 26: GPIO 26 is also [[button]] #1's line; e.g. gpio = 27");
}

#[test]
fn control_socket_path_is_absolute_and_fits_sun_path() {
    let e = err(&minimal("[control]\nsocket = \"control.sock\"\n"));
    assert!(e.contains("[control] socket = \"control.sock\": the control socket needs an absolute file path"), "{e}");
    let long = format!("/tmp/{}.sock", "x".repeat(120));
    let e = err(&minimal(&format!("[control]\nsocket = \"{long}\"\n")));
    assert!(e.contains("at most 107 bytes"), "{e}");
}

#[test]
fn empty_auth_user_is_refused_absent_falls_back() {
    let e = err(&minimal("auth_user = \"\"\n"));
    assert!(e.starts_with("station.toml:4: [sip] auth_user = \"\":"), "{e}");
    let c = parse(&minimal("auth_user = \"door-auth\"\n"), "station.toml").unwrap();
    assert_eq!(c.sip.auth_user(), "door-auth");
}

#[test]
fn load_names_the_file_it_could_not_read() {
    let e = load(Path::new("/nonexistent/station.toml")).unwrap_err().to_string();
    assert!(e.starts_with("/nonexistent/station.toml: cannot read:"), "{e}");
}

#[test]
fn not_toml_at_all() {
    let e = err("[sip\nuser = 1\n");
    assert!(e.starts_with("station.toml:1: [sip:"), "{e}");
}

#[test]
fn media_devices_are_read_and_checked() {
    let text = minimal(
        "[media]\ncamera = \"gstreamer\"\ncamera_device = \"videotestsrc\"\nvideo_encoder = \"x264\"\n\
         microphone = \"wav\"\nmicrophone_device = \"/tmp/mic.wav\"\nspeaker = \"alsa\"\nspeaker_device = \"plughw:1,0\"\n\
         srtp = \"mandatory\"\n",
    );
    let c = parse(&text, "station.toml").unwrap();
    assert_eq!(
        (c.media.camera, c.media.video_encoder, c.media.srtp),
        (CameraKind::Gstreamer, VideoEncoder::X264, Srtp::Mandatory)
    );
    assert_eq!(
        c.media.microphone_backend(),
        ds_media::backends::MicrophoneBackend::Wav { path: "/tmp/mic.wav".into() }
    );
    let e = err(&minimal("[media]\nspeaker = \"wav\"\nspeaker_device = \"\"\n"));
    assert!(e.contains("[media] speaker_device = \"\": this back-end needs a device or file name"), "{e}");
    let e = err(&minimal("[media]\necho_cancel = true\nmicrophone = \"alsa\"\nspeaker = \"gstreamer\"\n"));
    assert!(e.contains("[media] echo_cancel = true: echo cancellation (webrtcdsp) needs"), "{e}");
    let both = minimal("[media]\necho_cancel = true\nmicrophone = \"gstreamer\"\nspeaker = \"gstreamer\"\n");
    let c = parse(&both, "station.toml").unwrap();
    let ds_media::backends::SpeakerBackend::Card(ds_media::backends::SoundCard::Gstreamer { echo_probe, .. }) =
        c.media.speaker_backend()
    else {
        panic!("a GStreamer speaker")
    };
    assert!(echo_probe.is_some(), "the speaker feeds the echo probe");
    let e = err(&minimal("[media]\ncamera = \"webcam\"\n"));
    assert!(e.contains("camera"), "{e}");
}

#[test]
fn access_control_is_off_by_default_and_the_shipped_credential_encodes() {
    let c = parse(&minimal(""), "station.toml").unwrap();
    assert_eq!((c.wiegand.backend, c.door.backend), (AccessBackend::Off, AccessBackend::Off));
    assert_eq!(c.osdp.backend, OsdpBackend::Off);
    assert_eq!(c.relay.lock, LockConfig::FailSecure);
    let shipped = parse(SHIPPED, "station.toml").unwrap();
    assert_eq!((shipped.wiegand.clone(), shipped.osdp.clone(), shipped.door.clone()), (c.wiegand, c.osdp, c.door));
    let bits = shipped.wiegand.bits().expect("the shipped credential fits H10301");
    let decoded = ds_hw::wiegand::decode(ds_hw::wiegand::WiegandFormat::H10301, &bits).unwrap();
    assert_eq!((decoded.facility, decoded.card), (123, 4567));
}

#[test]
fn access_tables_are_read() {
    let text = minimal(
        "[relay]\nlock = \"fail-safe\"\n[wiegand]\nbackend = \"sim\"\nformat = \"raw:40\"\nfacility = 0\ncard = 99\n\
         [osdp]\nbackend = \"serial\"\nport = \"/dev/pts/9\"\naddress = 101\nscbk = \"00112233445566778899aabbccddeeff\"\n\
         [door]\nbackend = \"sim\"\nheld_open_s = 2\n",
    );
    let c = parse(&text, "station.toml").unwrap();
    assert_eq!(c.relay.lock, LockConfig::FailSafe);
    assert_eq!(parse_format(&c.wiegand.format), Some(ds_hw::wiegand::WiegandFormat::Raw(40)));
    assert_eq!(c.wiegand.bits().map(|b| b.len()), Some(40));
    let reader = c.osdp.reader_config();
    assert_eq!((reader.address, reader.port.to_str()), (101, Some("/dev/pts/9")));
    match reader.secure {
        ds_osdp::SecureChannel::On { initial_key, enforce, .. } => {
            assert_eq!(initial_key.map(|k| k[15]), Some(0xff));
            assert!(enforce);
        }
        ds_osdp::SecureChannel::Off => panic!("secure is on by default"),
    }
    assert_eq!(c.door.timing().held_open_after, std::time::Duration::from_secs(2));
}

#[test]
fn access_values_name_line_key_and_fix() {
    let e = err(&minimal("[wiegand]\nformat = \"H99\"\n"));
    assert!(e.starts_with("station.toml:5: [wiegand] format = \"H99\": the formats are H10301,"), "{e}");
    let e = err(&minimal("[wiegand]\nfacility = 300\n"));
    assert_eq!(
        e,
        "station.toml:5: [wiegand] facility = 300: facility code 300 does not fit H10301 (26-bit) (0 to 255); e.g. facility = 123"
    );
    let e = err(&minimal("[wiegand]\ncard = 70000\n"));
    assert!(e.starts_with("station.toml:5: [wiegand] card = 70000: card number 70000 does not fit"), "{e}");
    let e = err(&minimal("[wiegand]\npulse_us = 5\n"));
    assert_eq!(e, "station.toml:5: [wiegand] pulse_us = 5: must be between 20 and 100; e.g. pulse_us = 50");
    let e = err(&minimal("[wiegand]\nd1_gpio = 23\n"));
    assert!(e.contains("[wiegand] d1_gpio = 23: D0 and D1 need two different lines"), "{e}");
    let e = err(&minimal("[osdp]\nbaud = 4800\n"));
    assert!(e.starts_with("station.toml:5: [osdp] baud = 4800: OSDP rates are"), "{e}");
    let e = err(&minimal("[osdp]\naddress = 127\n"));
    assert!(e.contains("[osdp] address = 127: must be between 0 and 126"), "{e}");
    let e = err(&minimal("[osdp]\nscbk = \"secret\"\n"));
    assert!(e.contains("[osdp] scbk = \"(hidden)\": an SCBK is 32 hex digits") && !e.contains("secret"), "{e}");
    let e = err(&minimal("[osdp]\nbackend = \"rs485\"\n"));
    assert!(e.contains("unknown variant `rs485`") && e.contains("`serial`"), "{e}");
    let e = err(&minimal("[door]\nexit_gpio = 40\n"));
    assert!(e.contains("[door] exit_gpio = 40: must be between 0 and 27"), "{e}");
    let e = err(&minimal("[door]\ncontact_gpio = 5\ntamper_gpio = 5\n"));
    assert!(e.contains("[door] tamper_gpio = 5: GPIO 5 is already another [door] input"), "{e}");
    let e = err(&minimal("[relay]\nlock = \"fail-open\"\n"));
    assert!(e.contains("unknown variant `fail-open`"), "{e}");
}

#[test]
fn a_pi_line_has_one_owner() {
    let text = "[relay]\nbackend = \"rpi\"\ngpio = 23\n[wiegand]\nbackend = \"rpi\"\n";
    let e = err(&minimal(text));
    assert_eq!(
        e,
        "station.toml:7: [wiegand] d0_gpio = 23: GPIO 23 is also [relay] gpio; e.g. a line no other key uses"
    );
    let text = "[door]\nbackend = \"rpi\"\ncontact_gpio = 17\n[buttons]\nbackend = \"rpi\"\n[[button]]\ntarget = \"sip:a@home\"\n";
    let e = err(&minimal(text));
    assert!(e.contains("[door] contact_gpio = 17: GPIO 17 is also [[button]] #1 gpio"), "{e}");
    // Simulated back-ends claim no line.
    assert!(parse(&minimal("[relay]\ngpio = 23\n[wiegand]\nbackend = \"sim\"\n"), "station.toml").is_ok());
}
