//! The core's side of the relay: SDP of forked INVITEs and of their 183/2xx.

use ds_sip::transaction::TransactionKey;
use ds_sip::{Request, Response};

use super::Proxy;

impl Proxy {
    /// Starts relaying an initial INVITE with an SDP offer; true when relayed.
    pub(super) fn start_relay(&mut self, invite: &Request) -> bool {
        let initial = invite.headers.to().is_some_and(|t| t.tag().is_none());
        let sdp = invite.headers.content_type().as_deref() == Some("application/sdp");
        let Some(plan) = self.relay.as_mut().filter(|_| initial && sdp && invite.method == ds_sip::Method::Invite)
        else {
            return false;
        };
        plan.start(invite.headers.call_id().unwrap_or_default(), &invite.body)
    }

    /// Points one branch's offer at that leg's relay ports.
    pub(super) fn relay_branch_offer(&mut self, out: &mut Request) {
        let (Some(plan), Some(key)) = (self.relay.as_mut(), TransactionKey::client_for_request(out)) else { return };
        if let Some(body) = plan.branch_offer(out.headers.call_id().unwrap_or_default(), &key.to_string()) {
            out.body = body.into_bytes();
        }
    }

    /// Points a 183/2xx answer from a branch at the caller-side relay ports.
    pub(super) fn relay_answer(&mut self, call_id: &str, client: &TransactionKey, resp: &mut Response) {
        let Some(plan) = self.relay.as_mut() else { return };
        if let Some(body) = plan.answer(call_id, &client.to_string(), &resp.body, resp.status >= 200) {
            resp.body = body.into_bytes();
        }
    }
}
