//! Known answers: libsrtp's `srtp_validate` packets, made with the RFC 3711 appendix B.3 master
//! key and salt, and the same packet recomputed from the session keys that B.3 derives.

use super::*;
use crate::srtp::MasterKey;
use aes::cipher::{BlockEncrypt, KeyInit};
use hmac::Mac;

fn hex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

/// RFC 3711 B.3: master key and master salt.
const MASTER: &str = "e1f97a0d3e018be0d64fa32c06de41390ec675ad498afeebb6960b3aabe6";
/// RFC 3711 B.3: the session keys derived from them (cipher key, cipher salt, first 160 bits of
/// the authentication key).
const CIPHER_KEY: &str = "c61e7a93744f39ee10734afe3ff7a087";
const CIPHER_SALT: &str = "30cbbc08863d8c85d49db34a9ae1";
const AUTH_KEY: &str = "cebe321f6ff7716b6fd4ab49af256a156d38baa4";

/// libsrtp srtp_validate: SSRC 0xcafebabe, sequence 0x1234, 16 bytes of 0xab.
const RTP_PLAIN: &str = "800f1234decafbadcafebabeabababababababababababababababab";
const SRTP: &str = "800f1234decafbadcafebabe4e55dc4ce79978d88ca4d215949d2402b78d6acc99ea179b8dbb";
const RTCP_PLAIN: &str = "81c8000bcafebabeabababababababababababababababab";
const SRTCP: &str = "81c8000bcafebabe7128035be487b9bdbef89041f977a5a880000001993e08cd54d6c1230798";

fn attribute(tag: u32, material: &[u8]) -> CryptoAttribute {
    let key = MasterKey::from_bytes(material.try_into().unwrap());
    CryptoAttribute::new(tag, CryptoSuite::AesCm128HmacSha1_80, key)
}

fn session() -> SrtpSession {
    let a = attribute(1, &hex(MASTER));
    SrtpSession::new(&a, &a).unwrap()
}

#[test]
fn protect_gives_libsrtps_known_answers() {
    let mut s = session();
    assert_eq!(s.protect_rtp(&hex(RTP_PLAIN)).unwrap().to_vec(), hex(SRTP));
    assert_eq!(s.protect_rtcp(&hex(RTCP_PLAIN)).unwrap().to_vec(), hex(SRTCP));
}

#[test]
fn unprotect_recovers_the_plaintext_once() {
    let mut s = session();
    assert_eq!(s.unprotect_rtp(&hex(SRTP)).unwrap().to_vec(), hex(RTP_PLAIN));
    assert!(matches!(s.unprotect_rtp(&hex(SRTP)), Err(SrtpError::Packet { .. })), "a replay");
    assert_eq!(s.unprotect_rtcp(&hex(SRTCP)).unwrap().to_vec(), hex(RTCP_PLAIN));
}

#[test]
fn a_flipped_bit_or_a_short_packet_is_refused() {
    let mut s = session();
    let mut bad = hex(SRTP);
    bad[14] ^= 1;
    assert!(matches!(s.unprotect_rtp(&bad), Err(SrtpError::Packet { during: "unprotect RTP", .. })));
    for len in 0..22 {
        assert!(matches!(s.unprotect_rtp(&bad[..len]), Err(SrtpError::TooShort { .. })));
        assert!(matches!(s.unprotect_rtcp(&hex(SRTCP)[..len]), Err(SrtpError::TooShort { .. })));
    }
}

#[test]
fn the_packet_is_aes_cm_and_hmac_sha1_with_the_rfc_3711_b3_session_keys() {
    // RFC 3711 §4.1.1: IV = (k_s · 2^16) XOR (SSRC · 2^64) XOR (index · 2^16).
    let mut iv = [0u8; 16];
    iv[..14].copy_from_slice(&hex(CIPHER_SALT));
    for (i, b) in 0xcafe_babe_u32.to_be_bytes().into_iter().enumerate() {
        iv[4 + i] ^= b;
    }
    iv[12] ^= 0x12;
    iv[13] ^= 0x34;
    let cipher = aes::Aes128::new_from_slice(&hex(CIPHER_KEY)).unwrap();
    let mut keystream = aes::Block::from(iv);
    cipher.encrypt_block(&mut keystream);
    let mut expected = hex(RTP_PLAIN);
    for (p, k) in expected[12..].iter_mut().zip(keystream) {
        *p ^= k;
    }
    // RFC 3711 §4.2: tag = HMAC-SHA1(k_a, packet || ROC), 80 bits.
    let mut mac = <hmac::Hmac<sha1::Sha1> as Mac>::new_from_slice(&hex(AUTH_KEY)).unwrap();
    mac.update(&expected);
    mac.update(&0u32.to_be_bytes());
    expected.extend_from_slice(&mac.finalize().into_bytes()[..10]);
    assert_eq!(session().protect_rtp(&hex(RTP_PLAIN)).unwrap().to_vec(), expected);
}

#[test]
fn two_sides_with_their_own_keys_talk_across_an_ssrc_change() {
    let a = attribute(1, &[1; 30]);
    let b = attribute(1, &[2; 30]);
    let mut alice = SrtpSession::new(&a, &b).unwrap();
    let mut bob = SrtpSession::new(&b, &a).unwrap();
    for (ssrc, seq) in [(0x1111_1111u32, 65_535u16), (0x1111_1111, 0), (0x2222_2222, 9)] {
        let mut rtp = hex(RTP_PLAIN);
        rtp[2..4].copy_from_slice(&seq.to_be_bytes());
        rtp[8..12].copy_from_slice(&ssrc.to_be_bytes());
        let wire = alice.protect_rtp(&rtp).unwrap();
        assert_ne!(wire[12..28], rtp[12..]);
        assert_eq!(bob.unprotect_rtp(&wire).unwrap().to_vec(), rtp);
        // Alice's own key does not open what she sent.
        assert!(alice.unprotect_rtp(&wire).is_err());
    }
}
