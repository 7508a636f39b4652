//! RTCP on the odd ports (RFC 3550 §11): a receiver of our video asking for
//! a picture (PLI, RFC 4585 §6.3.1; FIR, RFC 5104 §4.3.1) gets a key frame
//! from the camera. A sender report is remembered for our reports'
//! LSR/DLSR ([`crate::shell::reports`]); anything else is read and
//! dropped. In an SRTP call only authenticated SRTCP counts.

use crate::shell::reports::{SharedReceptions, Stream};
use crate::shell::rtp::{ActiveCall, Unprotect};
use crate::shell::shutdown::Shutdown;
use crate::shell::sources::Control;
use rtcp::payload_feedbacks::full_intra_request::FullIntraRequest;
use rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use std::sync::Arc;
use std::sync::mpsc::Sender;
use tokio::net::UdpSocket;
use tokio::sync::watch;

/// True when the compound RTCP packet asks for a key frame.
pub fn wants_keyframe(datagram: &[u8]) -> bool {
    let mut buf = datagram;
    let Ok(packets) = rtcp::packet::unmarshal(&mut buf) else { return false };
    packets.iter().any(|p| {
        let any = p.as_any();
        any.downcast_ref::<PictureLossIndication>().is_some() || any.downcast_ref::<FullIntraRequest>().is_some()
    })
}

/// Reads `sock` until shutdown; key-frame requests go to `camera`. In an
/// SRTP call the video stream's keys authenticate and decrypt (SRTCP).
pub fn spawn(
    (sock, stream): (Arc<UdpSocket>, Stream),
    camera: Option<Sender<Control>>,
    (active, receptions): (watch::Receiver<Option<ActiveCall>>, SharedReceptions),
    mut shutdown: Shutdown,
) {
    tokio::spawn(async move {
        let mut buf = vec![0u8; 2048];
        let mut srtcp = Unprotect::default();
        loop {
            tokio::select! {
                r = sock.recv_from(&mut buf) => match r {
                    Ok((n, from)) if {
                        let active = active.borrow().clone();
                        let keys = active.as_ref().map(|a| if stream == Stream::Video { &a.srtp.video } else { &a.srtp.audio });
                        let plain = srtcp.control(&buf[..n], keys);
                        if let (Some(p), Ok(mut rx)) = (&plain, receptions.lock()) {
                            let reception = if stream == Stream::Video { &mut rx.video } else { &mut rx.audio };
                            reception.on_rtcp(std::time::Instant::now(), p);
                        }
                        plain.is_some_and(|p| wants_keyframe(&p))
                    } => {
                        tracing::debug!(%from, "RTCP picture request");
                        if let Some(c) = &camera {
                            let _ = c.send(Control::Keyframe);
                        }
                    }
                    Ok(_) => {}
                    Err(e) => tracing::debug!(error = %e, "RTCP receive error"),
                },
                _ = shutdown.recv() => return,
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::wants_keyframe;
    use rtcp::payload_feedbacks::full_intra_request::{FirEntry, FullIntraRequest};
    use rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
    use rtcp::receiver_report::ReceiverReport;
    use webrtc_util::Marshal;

    #[test]
    fn pli_and_fir_ask_for_a_key_frame_a_report_does_not() {
        let pli = PictureLossIndication { sender_ssrc: 1, media_ssrc: 2 }.marshal().unwrap();
        assert!(wants_keyframe(&pli));
        let fir =
            FullIntraRequest { sender_ssrc: 1, media_ssrc: 2, fir: vec![FirEntry { ssrc: 2, sequence_number: 1 }] };
        assert!(wants_keyframe(&fir.marshal().unwrap()));
        let rr = ReceiverReport { ssrc: 1, ..Default::default() }.marshal().unwrap();
        assert!(!wants_keyframe(&rr));
        let mut compound = rr.to_vec();
        compound.extend_from_slice(&pli);
        assert!(wants_keyframe(&compound));
        assert!(!wants_keyframe(b"\x80garbage"));
    }
}
