//! Session binding: a session belongs to the caller that opened it.

use std::collections::{HashMap, VecDeque};

/// Sessions remembered with their owner; the oldest are forgotten past this.
const MAX_SESSIONS: usize = 100_000;

/// The principal that opened each session: a session id presented with another caller's
/// token is answered as an unknown session, so a leaked session id is not enough to act in
/// someone else's session. Bounded: past [`MAX_SESSIONS`] the oldest are forgotten (and then
/// only checked by token, like any request).
#[derive(Default)]
pub(super) struct Sessions {
    owner: HashMap<String, String>,
    order: VecDeque<String>,
}

impl Sessions {
    pub(super) fn bind(&mut self, session: &str, principal: &str) {
        if self.owner.insert(session.to_owned(), principal.to_owned()).is_none() {
            self.order.push_back(session.to_owned());
        }
        while self.owner.len() > MAX_SESSIONS {
            match self.order.pop_front() {
                Some(old) => {
                    self.owner.remove(&old);
                }
                None => break,
            }
        }
    }

    pub(super) fn unbind(&mut self, session: &str) {
        if self.owner.remove(session).is_some() {
            self.order.retain(|s| s != session);
        }
    }

    /// False only when the session is known to belong to another principal.
    pub(super) fn allows(&self, session: &str, principal: &str) -> bool {
        self.owner.get(session).is_none_or(|p| p == principal)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_belong_to_their_opener() {
        let mut s = Sessions::default();
        s.bind("s1", "token:alice");
        assert!(s.allows("s1", "token:alice"));
        assert!(!s.allows("s1", "jwt:alice"));
        assert!(s.allows("unknown", "jwt:bob"));
        s.unbind("s1");
        assert!(s.allows("s1", "jwt:bob"));
    }
}
