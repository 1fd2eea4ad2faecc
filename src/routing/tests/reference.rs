//! The reference the property tests hold the core to, computed from raw fields (statuses,
//! sessions, loads, skill maps, stored times, the queue's settings) rather than the core's own
//! `is_eligible`, `rank` or `skills` helpers, and the state invariants checked after every step.

use std::collections::BTreeSet;

use proptest::prelude::*;

use super::super::*;
use super::choice::{choices_agree, ref_need};

/// The expansion steps begun for a chat at `now`, from its entry time and the queue's steps.
pub fn steps_begun(core: &Core, route: &ChatRoute, now: i64) -> usize {
    if route.skills.is_empty() {
        return 0;
    }
    let queue = &core.queues[&route.queue_id];
    queue
        .config
        .expansion
        .iter()
        .filter(|s| route.entered_ms + (s.after_secs as i64) * 1000 <= now)
        .count()
}

/// Open chats plus pending wrap-ups, counted from raw fields.
pub fn ref_load(a: &AnalystState) -> usize {
    a.open.len() + a.wrap_ups.len()
}

/// Whether `a` may be routed `route` at `now`: available, connected, room left (wrap-ups
/// counted), no offer, no required wrap-up, no pending status, a member, not passed, and holding
/// the skills at the level the chat's current step asks.
pub fn may_route(core: &Core, a: &AnalystState, route: &ChatRoute, now: i64) -> bool {
    let queue = &core.queues[&route.queue_id];
    let free = a.status == AnalystStatus::Available
        && a.sessions > 0
        && ref_load(a) < a.capacity
        && a.offer.is_none()
        && a.pending_status.is_none()
        && !a.wrap_ups.values().any(|h| h.required);
    let begun = steps_begun(core, route, now);
    let all = queue.config.expansion[..begun]
        .iter()
        .any(|s| s.relax == Relax::All);
    let any_level = begun > 0;
    let skilled = all
        || route
            .skills
            .iter()
            .all(|ask| match a.skills.get(&ask.name) {
                Some(level) => any_level || *level >= ask.level,
                None => false,
            });
    free && queue.members.contains(&a.id) && !route.passed.contains(&a.id) && skilled
}

/// Whether `analyst` may accept `chat`: it waits (or is offered) in a queue they are a member of,
/// or is offered to them; and they have room. Skills play no part.
pub fn may_accept(core: &Core, analyst: &AnalystId, chat: ChatId) -> bool {
    let route = &core.chats[&chat];
    let member = core.queues[&route.queue_id].members.contains(analyst);
    let offered_to_me =
        route.state == ChatState::Offered && route.analyst.as_ref() == Some(analyst);
    let a = &core.analysts[analyst];
    (member || offered_to_me) && route.state.is_waiting() && ref_load(a) < a.capacity
}

/// A waiting chat's rank (lower first), from its queue's priority, its order key and aging.
pub fn ref_rank(core: &Core, chat: ChatId) -> (i64, i64) {
    let route = &core.chats[&chat];
    let priority = i64::from(core.queues[&route.queue_id].config.priority);
    if core.aging_ms > 0 {
        (0, route.order_key - priority * core.aging_ms)
    } else {
        (-priority, route.order_key)
    }
}

/// Every (waiting chat, analyst) pair the router could make now, outside manual queues.
pub fn routable(core: &Core, now: i64) -> Vec<(ChatId, AnalystId)> {
    let mut out = Vec::new();
    for route in core.chats.values() {
        if route.state != ChatState::Waiting
            || core.queues[&route.queue_id].config.routing == RoutingMode::Manual
        {
            continue;
        }
        for a in core.analysts.values() {
            if may_route(core, a, route, now) {
                out.push((route.id, a.id.clone()));
            }
        }
    }
    out
}

pub fn check_state(core: &Core, now: i64) -> Result<(), TestCaseError> {
    for route in core.chats.values() {
        for (qid, queue) in &core.queues {
            let listed = queue.waiting.contains(&(route.order_key, route.id));
            let expected = route.state.is_waiting() && *qid == route.queue_id;
            prop_assert_eq!(listed, expected, "chat in exactly one place: {:?}", route);
        }
        match route.state {
            ChatState::Waiting => prop_assert!(route.analyst.is_none()),
            ChatState::Offered => {
                let a = &core.analysts[route.analyst.as_ref().unwrap()];
                prop_assert_eq!(a.offer, Some(route.id));
            }
            ChatState::Active => {
                let owner = route.analyst.as_ref().unwrap();
                for a in core.analysts.values() {
                    prop_assert_eq!(
                        a.open.contains(&route.id),
                        &a.id == owner,
                        "one analyst per chat"
                    );
                }
            }
            other => prop_assert!(false, "an open chat cannot be {:?}", other),
        }
        // The index holds exactly the chats not offered, under what they require now.
        let filed = core.filed_need(route.id);
        if route.state == ChatState::Waiting {
            let need = ref_need(core, route);
            prop_assert_eq!(
                filed,
                Some((&route.queue_id, &need)),
                "indexed by what it requires now"
            );
        } else {
            prop_assert!(filed.is_none(), "only chats not offered are indexed");
        }
        if route.state.is_waiting() {
            let queue = &core.queues[&route.queue_id];
            prop_assert!(
                route.relaxed <= steps_begun(core, route, now),
                "no step counted before it begins"
            );
            prop_assert!(
                route.order_key <= route.created_ms,
                "a chat never loses its place by age"
            );
            prop_assert!(
                route
                    .skills
                    .iter()
                    .all(|s| queue.config.skills.contains(&s.name)),
                "only skills the queue lists are asked"
            );
        }
    }
    // Within a queue, same-priority chats keep their order by age (head requeues aside).
    for queue in core.queues.values() {
        let by_age: Vec<&ChatRoute> = queue
            .waiting()
            .map(|c| &core.chats[&c])
            .filter(|r| r.order_key == r.created_ms)
            .collect();
        prop_assert!(
            by_age
                .windows(2)
                .all(|w| (w[0].created_ms, w[0].id) < (w[1].created_ms, w[1].id)),
            "waiting chats in order of age"
        );
    }
    let not_offered = core
        .chats
        .values()
        .filter(|c| c.state == ChatState::Waiting)
        .count();
    prop_assert_eq!(
        core.indexed_len(),
        (not_offered, not_offered),
        "the index holds each chat not offered once"
    );
    let indexed: usize = core.by_user.values().map(BTreeSet::len).sum();
    prop_assert_eq!(
        indexed,
        core.chats.len(),
        "every open chat is indexed by its user once"
    );
    let waiting: usize = core.queues.values().map(|q| q.waiting.len()).sum();
    prop_assert_eq!(
        waiting,
        core.chats.values().filter(|c| c.state.is_waiting()).count()
    );
    for a in core.analysts.values() {
        for chat in &a.open {
            prop_assert_eq!(core.chats[chat].analyst.as_deref(), Some(a.id.as_str()));
        }
        if let Some(chat) = a.offer {
            prop_assert_eq!(core.chats[&chat].state, ChatState::Offered);
        }
    }
    // Every pending wrap-up belongs to one analyst, is due once, and its chat is over.
    let holds: usize = core.analysts.values().map(|a| a.wrap_ups.len()).sum();
    prop_assert_eq!(holds, core.holders.len());
    prop_assert_eq!(holds, core.hold_due.len());
    for a in core.analysts.values() {
        for (chat, hold) in &a.wrap_ups {
            prop_assert_eq!(core.holders.get(chat), Some(&a.id));
            prop_assert!(core.hold_due.contains(&(hold.deadline_ms, *chat)));
            prop_assert!(
                !core.chats.contains_key(chat),
                "a wrap-up follows an ended chat"
            );
        }
    }
    // Every waiting chat with a rule ahead is due exactly once.
    let due: usize = core.chats.values().filter(|c| c.due_ms.is_some()).count();
    prop_assert_eq!(due, core.due.len());
    Ok(())
}

/// Runs `advance` and checks it: steps counted from the stored entry time, no chat's order key
/// changed by expansion, overflow keeping creation time and entering its target.
pub fn advance_checked(core: &mut Core, now: i64) -> Result<Vec<Timed>, TestCaseError> {
    let before = core.clone();
    let timed = core.advance(now);
    for t in &timed {
        match t {
            Timed::Expanded { chat, relaxed } => {
                let route = &core.chats[chat];
                prop_assert_eq!(*relaxed, steps_begun(core, route, now));
                prop_assert_eq!(
                    route.order_key,
                    before.chats[chat].order_key,
                    "expansion never moves a chat"
                );
            }
            Timed::Overflowed {
                chat,
                from,
                to,
                revoked,
                ..
            } => {
                let route = &core.chats[chat];
                let was = &before.chats[chat];
                prop_assert_eq!(&was.queue_id, from);
                prop_assert_eq!(&route.queue_id, to);
                prop_assert_eq!(
                    Some(to),
                    before.queues[from]
                        .config
                        .overflow
                        .as_ref()
                        .map(|o| &o.queue_id)
                );
                let target = &before.queues[to];
                prop_assert!(
                    target.config.enabled && target.open,
                    "never into a disabled or closed queue"
                );
                prop_assert!(
                    now >= was.entered_ms
                        + (before.queues[from]
                            .config
                            .overflow
                            .as_ref()
                            .unwrap()
                            .after_secs as i64)
                            * 1000
                );
                prop_assert_eq!(
                    route.order_key,
                    route.created_ms,
                    "overflow keeps created_at"
                );
                prop_assert_eq!(route.entered_ms, now);
                prop_assert_eq!(route.state, ChatState::Waiting);
                prop_assert_eq!(
                    revoked.clone(),
                    (was.state == ChatState::Offered)
                        .then(|| was.analyst.clone())
                        .flatten()
                );
            }
            Timed::Expired { chat } => {
                let route = &core.chats[chat];
                let limit = core.queues[&route.queue_id].config.max_wait_secs;
                prop_assert!(limit > 0 && now - route.created_ms >= limit * 1000);
            }
        }
    }
    // Nothing due is left behind (save a rule that came due again at once, or an expiry).
    for route in core.chats.values().filter(|r| r.state.is_waiting()) {
        let expiring = timed.contains(&Timed::Expired { chat: route.id });
        if !expiring
            && !timed
                .iter()
                .any(|t| matches!(t, Timed::Overflowed { chat, .. } if *chat == route.id))
        {
            prop_assert_eq!(
                route.relaxed,
                steps_begun(core, route, now),
                "every begun step applied"
            );
        }
    }
    Ok(timed)
}

/// What `route_checked` saw.
pub struct Routed {
    /// A decision went to an analyst who qualified only thanks to an expansion step.
    pub expanded: bool,
    pub offered: bool,
}

/// Runs `route()` and checks every decision against a replay on a copy of the state before it.
pub fn route_checked(core: &mut Core, now: i64) -> Result<Routed, TestCaseError> {
    let mut replay = core.clone();
    choices_agree(&replay)?;
    let decisions = core.route();
    let mut seen = Routed {
        expanded: false,
        offered: false,
    };
    for d in &decisions {
        let (chat, analyst) = match d {
            Decision::Assign { chat, analyst } | Decision::Offer { chat, analyst } => {
                (*chat, analyst.clone())
            }
        };
        let route = replay.chats[&chat].clone();
        let mode = replay.queues[&route.queue_id].config.routing;
        match d {
            Decision::Assign { .. } => {
                prop_assert_eq!(mode, RoutingMode::Auto, "assign only in auto queues")
            }
            Decision::Offer { .. } => {
                prop_assert_eq!(mode, RoutingMode::Offer, "offer only in offer queues");
                seen.offered = true;
            }
        }
        let candidates = routable(&replay, now);
        prop_assert!(
            candidates.iter().any(|(c, a)| *c == chat && *a == analyst),
            "offered only to analysts eligible at the chat's expansion step: {:?}",
            d
        );
        let best = candidates
            .iter()
            .map(|(c, _)| ref_rank(&replay, *c))
            .min()
            .unwrap();
        prop_assert_eq!(
            ref_rank(&replay, chat),
            best,
            "priority (or aged age), then longest waiting"
        );
        let chosen = &replay.analysts[&analyst];
        for (c, other) in &candidates {
            if *c == chat && *other != analyst {
                let o = &replay.analysts[other];
                prop_assert!(
                    (ref_load(chosen), chosen.last_assigned) <= (ref_load(o), o.last_assigned),
                    "fewest open chats (wrap-ups counted), then longest idle"
                );
            }
        }
        if route.relaxed > 0 {
            let strict = route.skills.iter().all(|ask| {
                chosen
                    .skills
                    .get(&ask.name)
                    .is_some_and(|l| *l >= ask.level)
            });
            seen.expanded |= !strict;
        }
        match d {
            Decision::Assign { .. } => replay.activate(chat, &analyst),
            Decision::Offer { .. } => replay.offer_to(chat, &analyst).unwrap(),
        }
        choices_agree(&replay)?;
    }
    for d in &decisions {
        let (Decision::Assign { analyst, .. } | Decision::Offer { analyst, .. }) = d;
        let a = &core.analysts[analyst];
        prop_assert!(
            ref_load(a) <= a.capacity,
            "routing keeps load (wrap-ups included) within capacity"
        );
        prop_assert!(
            !a.wrap_ups.values().any(|h| h.required),
            "nothing routed to an analyst with a required wrap-up pending"
        );
        prop_assert!(
            a.pending_status.is_none(),
            "nothing new with a pending status"
        );
    }
    prop_assert!(
        routable(core, now).is_empty(),
        "no chat waits while an eligible analyst is free"
    );
    Ok(seen)
}
