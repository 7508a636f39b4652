use super::*;
use crate::shell::shutdown::ShutdownTrigger;
use tokio::io::AsyncReadExt;

fn options(branch: &str, transport: &str) -> String {
    format!(
        "OPTIONS sip:door@home SIP/2.0\r\n\
         Via: SIP/2.0/{transport} 127.0.0.1:5999;branch=z9hG4bK{branch}\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:alice@home>;tag=a1\r\n\
         To: <sip:door@home>\r\n\
         Call-ID: {branch}@test\r\n\
         CSeq: 1 OPTIONS\r\n\
         Content-Length: 0\r\n\r\n"
    )
}

struct Running {
    addr: SocketAddr,
    sender: SipSender,
    inbound: mpsc::Receiver<Inbound>,
    _trigger: ShutdownTrigger,
}

async fn running() -> Running {
    let sockets = SipSockets::bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let addr = sockets.local_addr().unwrap();
    let trigger = ShutdownTrigger::new();
    let (tx, inbound) = mpsc::channel(16);
    let sender = sockets.start(tx, trigger.subscribe());
    Running { addr, sender, inbound, _trigger: trigger }
}

fn call_id(msg: &Message) -> &str {
    msg.headers().call_id().unwrap()
}

#[tokio::test]
async fn udp_message_is_delivered_with_its_peer() {
    let mut r = running().await;
    let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    client.send_to(options("u1", "UDP").as_bytes(), r.addr).await.unwrap();
    let got = r.inbound.recv().await.unwrap();
    assert_eq!(got.from, Peer::udp(client.local_addr().unwrap()));
    assert_eq!(call_id(&got.msg), "u1@test");
}

#[tokio::test]
async fn malformed_udp_request_is_answered_not_delivered() {
    let mut r = running().await;
    let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let bad = options("u2", "UDP").replace("CSeq: 1 OPTIONS", "CSeq: 1 INVITE");
    client.send_to(bad.as_bytes(), r.addr).await.unwrap();
    let mut buf = vec![0u8; 4096];
    let (n, _) = client.recv_from(&mut buf).await.unwrap();
    assert!(buf[..n].starts_with(b"SIP/2.0 400 "), "{}", String::from_utf8_lossy(&buf[..n]));
    client.send_to(options("u3", "UDP").as_bytes(), r.addr).await.unwrap();
    assert_eq!(call_id(&r.inbound.recv().await.unwrap().msg), "u3@test", "the bad one was not delivered");
}

#[tokio::test]
async fn endpoint_policy_is_left_to_the_engine() {
    let mut r = running().await;
    let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let req = options("u4", "UDP").replace("CSeq: 1 OPTIONS\r\n", "CSeq: 1 OPTIONS\r\nRequire: 100rel\r\n");
    client.send_to(req.as_bytes(), r.addr).await.unwrap();
    let got = r.inbound.recv().await.unwrap();
    assert_eq!(got.msg.headers().get("Require"), Some("100rel"), "delivered, for the engine to answer 420");
}

#[tokio::test]
async fn tcp_stream_is_framed_and_the_connection_reused_for_answers() {
    let mut r = running().await;
    let mut client = TcpStream::connect(r.addr).await.unwrap();
    let two = format!("{}{}", options("t1", "TCP"), options("t2", "TCP"));
    let (a, b) = two.as_bytes().split_at(100);
    client.write_all(a).await.unwrap();
    client.write_all(b).await.unwrap();
    let first = r.inbound.recv().await.unwrap();
    let second = r.inbound.recv().await.unwrap();
    assert_eq!((call_id(&first.msg), call_id(&second.msg)), ("t1@test", "t2@test"));
    let peer = Peer { addr: client.local_addr().unwrap(), transport: Transport::Tcp };
    assert_eq!(first.from, peer);
    r.sender.send(peer, b"SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n".to_vec());
    let mut buf = vec![0u8; 64];
    let n = client.read(&mut buf).await.unwrap();
    assert_eq!(&buf[..n], b"SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n");
    assert_eq!(r.sender.tcp_connections(), 1);
}

#[tokio::test]
async fn tcp_keepalive_ping_gets_a_pong() {
    let r = running().await;
    let mut client = TcpStream::connect(r.addr).await.unwrap();
    client.write_all(b"\r\n\r\n").await.unwrap();
    let mut buf = [0u8; 2];
    client.read_exact(&mut buf).await.unwrap();
    assert_eq!(&buf, b"\r\n");
}

#[tokio::test]
async fn outbound_tcp_opens_one_connection_and_reuses_it() {
    let r = running().await;
    let peer_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let dest = Peer { addr: peer_listener.local_addr().unwrap(), transport: Transport::Tcp };
    r.sender.send(dest, b"first".to_vec());
    r.sender.send(dest, b"second".to_vec());
    let (mut conn, _) = peer_listener.accept().await.unwrap();
    let mut got = vec![0u8; 11];
    conn.read_exact(&mut got).await.unwrap();
    assert_eq!(&got, b"firstsecond", "both went on the one connection, in order");
    drop(conn);
    let accept_again = tokio::time::timeout(std::time::Duration::from_millis(50), peer_listener.accept()).await;
    assert!(accept_again.is_err(), "no second connection was opened");
}

#[tokio::test]
async fn a_closed_connection_leaves_the_table() {
    let mut r = running().await;
    let mut client = TcpStream::connect(r.addr).await.unwrap();
    client.write_all(options("t3", "TCP").as_bytes()).await.unwrap();
    r.inbound.recv().await.unwrap();
    assert_eq!(r.sender.tcp_connections(), 1);
    drop(client);
    tokio::time::timeout(std::time::Duration::from_secs(10), async {
        while r.sender.tcp_connections() != 0 {
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
    })
    .await
    .expect("the closed connection is forgotten");
}
