//! The routing decision: which waiting chat goes to which eligible analyst next. Chats are taken
//! in rank order (priority then age, or aged creation time when `aging_ms` > 0); the analyst is
//! the eligible member who qualifies for the chat's skills at its expansion step, with the fewest
//! open chats, then longest since their last assignment. Past the first few chats of a queue the
//! decision asks the queue's index (`index`) instead of walking chats no free analyst can take.

use super::*;

/// How many chats of a queue the decision tries one by one, in queue order, before it asks the
/// queue's index on behalf of each eligible member (a tuning constant, not a rule: the choice
/// is the same either way, as the property tests check).
pub(super) const WALK_BUDGET: usize = 16;

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
                self.refile(chat);
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
        self.best_pair_within(WALK_BUDGET)
    }

    /// The next pair: the waiting chat first by (rank, id) that some eligible, qualified member
    /// of its queue who has not passed on it may take, and among those members the first by
    /// (load, last assignment, id). Per queue, the first `budget` chats in queue order are tried
    /// one by one (cheap when free analysts take what comes); past them, each eligible member
    /// asks the queue's index for the first chat it qualifies for, which never meets a chat the
    /// member cannot take. Both find the same chat: the walk stops only at a chat some member
    /// takes, and the index answers for every member.
    pub(super) fn best_pair_within(
        &self,
        budget: usize,
    ) -> Option<(ChatId, AnalystId, RoutingMode)> {
        let eligible: Vec<&AnalystState> =
            self.analysts.values().filter(|a| a.is_eligible()).collect();
        if eligible.is_empty() {
            return None;
        }
        let mut best: Option<((i64, i64), ChatId, &QueueState)> = None;
        for queue in self.queues.values() {
            if queue.config.routing == RoutingMode::Manual {
                continue;
            }
            // Membership is looked up lazily: with many free analysts the first usually answers.
            let member = |a: &&&AnalystState| queue.members.contains(&a.id);
            if !eligible.iter().any(|a| member(&a)) {
                continue;
            }
            let priority = queue.config.priority;
            let beaten = |best: &Option<((i64, i64), ChatId, &QueueState)>, rank, chat| {
                best.as_ref()
                    .is_some_and(|(b, c, _)| (*b, *c) <= (rank, chat))
            };
            // The first chats in queue order, one by one.
            let mut settled = true;
            for (walked, &(key, chat)) in queue.waiting.iter().enumerate() {
                let rank = self.rank(priority, key);
                if beaten(&best, rank, chat) {
                    break;
                }
                if walked == budget {
                    settled = false;
                    break;
                }
                let Some(route) = self.chats.get(&chat) else {
                    continue;
                };
                if route.state != ChatState::Waiting {
                    continue;
                }
                if eligible
                    .iter()
                    .any(|a| member(&a) && self.may_take(a, route, queue))
                {
                    best = Some((rank, chat, queue));
                    break;
                }
            }
            if settled {
                continue;
            }
            // Past the budget: each member's first qualified chat, from the index.
            for a in eligible.iter().filter(member) {
                let mut first = None;
                let mut judge = |&(key, chat): &(i64, ChatId)| {
                    if beaten(&best, self.rank(priority, key), chat) {
                        index::Verdict::Stop
                    } else if self
                        .chats
                        .get(&chat)
                        .is_some_and(|r| !r.passed.contains(&a.id))
                    {
                        index::Verdict::Take
                    } else {
                        index::Verdict::Skip
                    }
                };
                queue
                    .index
                    .first_for(&a.skills, None, &mut judge, &mut first);
                if let Some((key, chat)) = first {
                    best = Some((self.rank(priority, key), chat, queue));
                }
            }
        }
        let (_, chat, queue) = best?;
        let route = self.chats.get(&chat)?;
        let analyst = eligible
            .iter()
            .filter(|a| queue.members.contains(&a.id) && self.may_take(a, route, queue))
            .min_by_key(|a| (a.load(), a.last_assigned, &a.id))?;
        Some((chat, analyst.id.clone(), queue.config.routing))
    }

    /// Whether an eligible member may be routed a waiting chat of `queue`: not passed on it, and
    /// qualified for its skills at its expansion step.
    fn may_take(&self, a: &AnalystState, route: &ChatRoute, queue: &QueueState) -> bool {
        let relax = skills::in_force(&queue.config.expansion, route.relaxed);
        !route.passed.contains(&a.id) && skills::qualifies(&a.skills, &route.skills, relax)
    }
}
