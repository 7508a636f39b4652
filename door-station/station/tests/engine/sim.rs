//! The engine against B's testkit: a forking proxy and scripted callees on a
//! lossy, seeded in-memory network, every deadline stepped in order.

use std::any::Any;
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use door_station::engine::{Command, EndReason, Engine, Event, Input, MediaCommand, Output};
use ds_sip::message::intake::{Intake, parse_datagram};
use ds_sip::testkit::{Callee, ForkingProxy, Link, Party, Script, Sim};
use ds_sip::transaction::Peer;

use crate::harness::{config, phone_sdp};

const STATION: &str = "127.0.0.1:15080";
const PROXY: &str = "127.0.0.1:5070";

/// The engine as a simulated party; media commands and events are recorded.
struct Station {
    engine: Engine,
    peer: Peer,
    out: VecDeque<(Peer, Vec<u8>)>,
    media: Vec<MediaCommand>,
    events: Vec<Event>,
}

impl Station {
    fn new(t0: Instant) -> Station {
        let engine = Engine::new(config(), t0, 11);
        let mut s = Station {
            engine,
            peer: Peer::udp(STATION.parse().unwrap()),
            out: VecDeque::new(),
            media: Vec::new(),
            events: Vec::new(),
        };
        s.collect();
        s
    }

    fn input(&mut self, now: Instant, input: Input) {
        self.engine.handle_input(now, input);
        self.collect();
    }

    fn collect(&mut self) {
        while let Some(out) = self.engine.poll_output() {
            match out {
                Output::Transmit { dest, bytes } => self.out.push_back((dest, bytes)),
                Output::Media(cmd) => self.media.push(cmd),
                Output::Event(ev) => self.events.push(ev),
                Output::Relay(_) => {}
            }
        }
    }

    fn early_dialogs(&self) -> usize {
        self.media.iter().filter(|m| matches!(m, MediaCommand::StartEarly { .. })).count()
    }

    fn answered_by(&self) -> Vec<String> {
        let answered = self.media.iter().filter_map(|m| match m {
            MediaCommand::Answered { dialog, .. } => Some(dialog.clone()),
            _ => None,
        });
        answered.collect()
    }
}

impl Party for Station {
    fn peer(&self) -> Peer {
        self.peer
    }
    fn handle_datagram(&mut self, now: Instant, from: Peer, bytes: &[u8]) {
        if let Intake::Message(msg) = parse_datagram(bytes) {
            self.input(now, Input::Sip { from, msg });
        }
    }
    fn handle_timeout(&mut self, now: Instant) {
        self.engine.handle_timeout(now);
        self.collect();
    }
    fn poll_transmit(&mut self) -> Option<(Peer, Vec<u8>)> {
        self.out.pop_front()
    }
    fn next_timeout(&self) -> Option<Instant> {
        self.engine.next_timeout()
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn early_then(answer: Option<(Duration, u16)>) -> Script {
    Script { provisional: Some((Duration::from_millis(200), 183)), answer, sdp: Some(phone_sdp(16000)) }
}

/// Station → proxy → (a, b), with `loss` per mille on every link.
fn house(loss: u32, a: Script, b: Script) -> (Sim, [ds_sip::testkit::PartyId; 4]) {
    let t0 = Instant::now();
    let mut sim = Sim::new(t0, 42);
    sim.net.set_default_link(Link { loss_per_mille: loss, ..Link::default() });
    let (ca, cb) = (addr("127.0.0.1:15066"), addr("127.0.0.1:15072"));
    let station = sim.add(Station::new(t0));
    let proxy = sim.add(ForkingProxy::new(addr(PROXY), vec![ca, cb], 5));
    let a = sim.add(Callee::new(ca, a, 1));
    let b = sim.add(Callee::new(cb, b, 2));
    (sim, [station, proxy, a, b])
}

#[test]
fn forked_call_under_loss_gets_early_media_from_both_and_one_answer() {
    let answer_at = Some((Duration::from_secs(3), 200));
    let (mut sim, [station, proxy, a, b]) = house(200, early_then(answer_at), early_then(None));
    let now = sim.now();
    sim.get_mut::<Station>(station).input(now, Input::ButtonPressed(0));
    sim.run_until(now + Duration::from_secs(10));

    let st = sim.get::<Station>(station);
    assert_eq!(st.early_dialogs(), 2, "both forks' 183 reached the station despite the loss");
    let a_tag = sim.get::<Callee>(a).tag().to_string();
    assert_eq!(st.answered_by(), vec![a_tag]);
    assert!(st.engine.status().call.is_some_and(|c| c.state == "answered"));
    assert!(sim.get::<Callee>(a).acks >= 1, "the 200 was ACKed end to end");
    assert!(sim.get::<ForkingProxy>(proxy).cancels_sent >= 1, "the proxy cancelled the other branch");
    assert_eq!(sim.get::<Callee>(b).final_sent(), Some(487));

    let now = sim.now();
    sim.get_mut::<Station>(station).input(now, Input::Command(Command::Hangup));
    sim.run_until(now + Duration::from_secs(10));
    assert_eq!(sim.get::<Callee>(a).byes, 1, "the BYE went through the Record-Route proxy");
    let ended = sim
        .get::<Station>(station)
        .events
        .iter()
        .any(|e| matches!(e, Event::Ended { reason: EndReason::LocalHangup, .. }));
    assert!(ended);
}

#[test]
fn racing_answers_the_second_is_acked_and_byed() {
    let a = early_then(Some((Duration::from_secs(2), 200)));
    let b = early_then(Some((Duration::from_millis(2005), 200)));
    let (mut sim, [station, _, a, b]) = house(0, a, b);
    let now = sim.now();
    sim.get_mut::<Station>(station).input(now, Input::ButtonPressed(0));
    sim.run_until(now + Duration::from_secs(8));

    let answered = sim.get::<Station>(station).answered_by();
    assert_eq!(answered.len(), 1, "one answer wins: {answered:?}");
    let (winner, loser) = if answered[0] == sim.get::<Callee>(a).tag() { (a, b) } else { (b, a) };
    assert!(sim.get::<Callee>(loser).acks >= 1, "the losing 200 is ACKed");
    assert_eq!(sim.get::<Callee>(loser).byes, 1, "and ended with BYE");
    assert_eq!(sim.get::<Callee>(winner).byes, 0, "the winner's call goes on");
}

#[test]
fn ring_timeout_cancels_every_branch() {
    let (mut sim, [station, _, a, b]) = house(100, early_then(None), early_then(None));
    let now = sim.now();
    sim.get_mut::<Station>(station).input(now, Input::ButtonPressed(0));
    sim.run_until(now + Duration::from_secs(40));
    let st = sim.get::<Station>(station);
    assert!(st.events.iter().any(|e| matches!(e, Event::Ended { reason: EndReason::RingTimeout, .. })));
    assert_eq!(sim.get::<Callee>(a).final_sent(), Some(487));
    assert_eq!(sim.get::<Callee>(b).final_sent(), Some(487));
    assert!(st.engine.status().call.is_none());
}
