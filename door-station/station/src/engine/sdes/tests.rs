use super::*;
use ds_sip::sdp::{AudioCodec, LocalCaps};

fn offer(policy: SrtpPolicy) -> SessionDescription {
    let caps = LocalCaps { audio: vec![AudioCodec::Pcmu], telephone_event: true, video: None };
    let mut sdp = ds_sip::sdp::offer(&caps, [127, 0, 0, 1].into(), (20000, 0), 1);
    let mut n = 0;
    protect_offer(&mut sdp, policy, || {
        n += 1;
        key(&[7; 32], n)
    });
    sdp
}

fn reparse(sdp: &SessionDescription) -> SessionDescription {
    SessionDescription::parse(&sdp.to_string()).unwrap()
}

#[test]
fn a_mandatory_offer_is_savp_with_a_key_an_off_one_is_plain() {
    let text = offer(SrtpPolicy::Mandatory).to_string();
    assert!(text.contains("m=audio 20000 RTP/SAVP "), "{text}");
    assert!(text.contains("a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:"), "{text}");
    let plain = offer(SrtpPolicy::Off).to_string();
    assert!(plain.contains("RTP/AVP") && !plain.contains("crypto"), "{plain}");
    assert_ne!(key(&[7; 32], 1), key(&[7; 32], 2));
}

#[test]
fn our_answer_to_our_own_offer_agrees_on_the_keys() {
    let ours = reparse(&offer(SrtpPolicy::Mandatory));
    let caps = LocalCaps { audio: vec![AudioCodec::Pcmu], telephone_event: true, video: None };
    let mut answer = ds_sip::sdp::answer(&as_plain(&ours), &caps, [127, 0, 0, 1].into(), (30000, 0), 2);
    let answered = protect_answer(&ours, &mut answer, SrtpPolicy::Optional, || key(&[9; 32], 1));
    let answer = reparse(&answer);
    assert_eq!(answer.media[0].proto, "RTP/SAVP");
    let Protection::Sdes { local, remote } = &answered.audio else { panic!("{answered:?}") };
    let agreed = accept_answer(&ours, &answer).unwrap();
    let Protection::Sdes { local: l2, remote: r2 } = &agreed.audio else { panic!("{agreed:?}") };
    assert_eq!((local, remote), (r2, l2), "each side sends with its own key and receives with the other's");
}

#[test]
fn a_policy_that_disagrees_with_the_offer_rejects_the_stream() {
    let ours = reparse(&offer(SrtpPolicy::Mandatory));
    let caps = LocalCaps { audio: vec![AudioCodec::Pcmu], telephone_event: true, video: None };
    let mut answer = ds_sip::sdp::answer(&as_plain(&ours), &caps, [127, 0, 0, 1].into(), (30000, 0), 2);
    protect_answer(&ours, &mut answer, SrtpPolicy::Off, || key(&[9; 32], 1));
    assert!(answer.media[0].is_rejected());
    let plain = reparse(&offer(SrtpPolicy::Off));
    let mut answer = ds_sip::sdp::answer(&plain, &caps, [127, 0, 0, 1].into(), (30000, 0), 2);
    protect_answer(&plain, &mut answer, SrtpPolicy::Mandatory, || key(&[9; 32], 1));
    assert!(answer.media[0].is_rejected());
    // An answer without a=crypto to a mandatory offer is refused.
    let mut bare = ds_sip::sdp::answer(&as_plain(&ours), &caps, [127, 0, 0, 1].into(), (30000, 0), 2);
    bare.media[0].proto = "RTP/SAVP".into();
    assert!(accept_answer(&ours, &reparse(&bare)).is_err());
}
