//! The routing decision: which waiting chat goes to which eligible analyst next. Chats are taken
//! in rank order (priority then age, or aged creation time when `aging_ms` > 0); the analyst is
//! the eligible member who qualifies for the chat's skills at its expansion step, with the fewest
//! open chats, then longest since their last assignment.

use super::*;

impl Core {
    /// A waiting chat's rank across queues (lower first): `(−priority, order key)`, or with
    /// priority aging `(0, order key − priority × aging)` (§8.2).
    pub fn rank(&self, priority: i32, order_key: i64) -> (i64, i64) {
        if self.aging_ms > 0 {
            (
                0,
                order_key.saturating_sub(i64::from(priority).saturating_mul(self.aging_ms)),
            )
        } else {
            (-i64::from(priority), order_key)
        }
    }

    /// Hands waiting chats to eligible analysts until no pair is left: best rank first; among
    /// eligible members qualified for the chat's skills, fewest open chats, then longest since
    /// their last assignment. Manual queues are left for analysts to pick.
    pub fn route(&mut self) -> Vec<Decision> {
        let mut decisions = Vec::new();
        while let Some((chat, analyst, mode)) = self.best_pair() {
            if mode == RoutingMode::Offer {
                if let Some(route) = self.chats.get_mut(&chat) {
                    route.state = ChatState::Offered;
                    route.analyst = Some(analyst.clone());
                }
                if let Some(a) = self.analysts.get_mut(&analyst) {
                    a.offer = Some(chat);
                }
                decisions.push(Decision::Offer { chat, analyst });
            } else {
                self.activate(chat, &analyst);
                decisions.push(Decision::Assign { chat, analyst });
            }
        }
        decisions
    }

    /// The next (chat, analyst) pair to route, if any.
    fn best_pair(&self) -> Option<(ChatId, AnalystId, RoutingMode)> {
        let mut eligible: Vec<&AnalystState> =
            self.analysts.values().filter(|a| a.is_eligible()).collect();
        if eligible.is_empty() {
            return None;
        }
        eligible.sort_by(|a, b| {
            (a.load(), a.last_assigned, &a.id).cmp(&(b.load(), b.last_assigned, &b.id))
        });
        let mut best: Option<((i64, i64), ChatId, &AnalystId, RoutingMode)> = None;
        for queue in self.queues.values() {
            if queue.config.routing == RoutingMode::Manual
                || !eligible.iter().any(|a| queue.members.contains(&a.id))
            {
                continue;
            }
            // The first chat in queue order that some eligible, qualified member may take.
            for &(key, chat) in &queue.waiting {
                let rank = self.rank(queue.config.priority, key);
                if best.as_ref().is_some_and(|(b, ..)| *b <= rank) {
                    break;
                }
                let Some(route) = self.chats.get(&chat) else {
                    continue;
                };
                if route.state != ChatState::Waiting {
                    continue;
                }
                let relax = skills::in_force(&queue.config.expansion, route.relaxed);
                let pick = eligible.iter().find(|a| {
                    queue.members.contains(&a.id)
                        && !route.passed.contains(&a.id)
                        && skills::qualifies(&a.skills, &route.skills, relax)
                });
                if let Some(a) = pick {
                    best = Some((rank, chat, &a.id, queue.config.routing));
                    break;
                }
            }
        }
        best.map(|(_, chat, analyst, mode)| (chat, analyst.clone(), mode))
    }
}
