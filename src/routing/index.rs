//! The waiting chats of each queue indexed by what they require of an analyst at their current
//! expansion step (contract §8.1), so a freed analyst finds the oldest chat it qualifies for
//! without walking the ones it does not.
//!
//! A chat's requirement ("need") is its asked skills, sorted by name, each at the level its step
//! asks (the asked level before any step, 0 = any level once a `level` step began); a chat asking
//! nothing, or past an `all` step, needs nothing. A queue keeps a trie over needs: the chats at a
//! node need exactly the (skill, level) pairs on the path to it. An analyst descends only into
//! the children naming a skill they hold at or above the child's level, so every chat it meets
//! is one it qualifies for; within a node chats are in queue order (order key, id), the order of
//! `QueueState::waiting`. Only chats in state `Waiting` are filed (an offered chat is not
//! routable). `Core::refile` keeps the index in line with a chat's route after every change.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;

use super::*;

/// What a waiting chat requires: (skill, minimum level) sorted by skill, each skill once.
pub(super) type Need = Vec<(String, u8)>;

/// Where a chat is filed, so it is taken out exactly where it was put.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Filed {
    /// The queue whose index holds it.
    queue: QueueId,
    /// The path to its node.
    need: Need,
    /// Its order key when filed.
    key: i64,
}

/// One node of a queue's index.
#[derive(Debug, Clone, Default)]
pub(super) struct Node {
    /// Chats needing exactly the path to this node, in queue order.
    chats: BTreeSet<(i64, ChatId)>,
    /// Longer needs, by their next skill and its level.
    next: BTreeMap<String, BTreeMap<u8, Node>>,
}

/// What the caller of `Node::first_for` says of a chat met in queue order.
pub(super) enum Verdict {
    /// Take it: the best chat of its node for this analyst.
    Take,
    /// Not this one (the analyst passed on it); look further in its node.
    Skip,
    /// Nothing from here on in its node can beat the best found already.
    Stop,
}

impl Node {
    fn insert(&mut self, need: &[(String, u8)], entry: (i64, ChatId)) {
        match need.split_first() {
            None => {
                self.chats.insert(entry);
            }
            Some(((skill, level), rest)) => self
                .next
                .entry(skill.clone())
                .or_default()
                .entry(*level)
                .or_default()
                .insert(rest, entry),
        }
    }

    /// Takes a chat out, dropping the nodes it leaves empty.
    fn remove(&mut self, need: &[(String, u8)], entry: (i64, ChatId)) {
        match need.split_first() {
            None => {
                self.chats.remove(&entry);
            }
            Some(((skill, level), rest)) => {
                let Some(levels) = self.next.get_mut(skill) else {
                    return;
                };
                if let Some(node) = levels.get_mut(level) {
                    node.remove(rest, entry);
                    if node.is_empty() {
                        levels.remove(level);
                    }
                }
                if levels.is_empty() {
                    self.next.remove(skill);
                }
            }
        }
    }

    fn is_empty(&self) -> bool {
        self.chats.is_empty() && self.next.is_empty()
    }

    /// How many chats are filed here and below (for the property tests).
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.chats.len()
            + self
                .next
                .values()
                .flat_map(BTreeMap::values)
                .map(Node::len)
                .sum::<usize>()
    }

    /// Lowers `best` to the first chat (in queue order), here or below, that an analyst holding
    /// `held` qualifies for and `judge` takes. `after` is the last skill on the path here: needs
    /// are sorted, so only held skills after it lead further down.
    pub(super) fn first_for(
        &self,
        held: &BTreeMap<String, u8>,
        after: Option<&str>,
        judge: &mut impl FnMut(&(i64, ChatId)) -> Verdict,
        best: &mut Option<(i64, ChatId)>,
    ) {
        for entry in &self.chats {
            if best.is_some_and(|b| b <= *entry) {
                break;
            }
            match judge(entry) {
                Verdict::Take => {
                    *best = Some(*entry);
                    break;
                }
                Verdict::Skip => {}
                Verdict::Stop => break,
            }
        }
        if self.next.is_empty() {
            return;
        }
        let lower = after.map_or(Bound::Unbounded, Bound::Excluded);
        for (skill, level) in held.range::<str, _>((lower, Bound::Unbounded)) {
            if let Some(levels) = self.next.get(skill.as_str()) {
                for node in levels.range(..=*level).map(|(_, node)| node) {
                    node.first_for(held, Some(skill), judge, best);
                }
            }
        }
    }
}

/// A chat's need under `relax`: nothing past an `all` step, any level past a `level` step, else
/// each asked skill at its level (the highest where a skill is asked twice).
pub(super) fn need(asks: &[SkillAsk], relax: Option<Relax>) -> Need {
    if relax == Some(Relax::All) {
        return Vec::new();
    }
    let mut need: BTreeMap<&str, u8> = BTreeMap::new();
    for ask in asks {
        let level = if relax == Some(Relax::Level) {
            0
        } else {
            ask.level
        };
        let at = need.entry(ask.name.as_str()).or_insert(level);
        *at = (*at).max(level);
    }
    need.into_iter().map(|(s, l)| (s.to_string(), l)).collect()
}

impl Core {
    /// Where a chat belongs in the index now: waiting (not offered) in a queue that exists.
    fn filing(&self, chat: ChatId) -> Option<Filed> {
        let route = self.chats.get(&chat)?;
        if route.state != ChatState::Waiting {
            return None;
        }
        let queue = self.queues.get(&route.queue_id)?;
        let relax = skills::in_force(&queue.config.expansion, route.relaxed);
        Some(Filed {
            queue: route.queue_id.clone(),
            need: need(&route.skills, relax),
            key: route.order_key,
        })
    }

    /// Brings a chat's place in the index in line with its route (state, queue, skills, step,
    /// order key) and its queue's expansion steps; called after every change to any of them.
    pub(super) fn refile(&mut self, chat: ChatId) {
        let want = self.filing(chat);
        if self.filed.get(&chat) == want.as_ref() {
            return;
        }
        if let Some(old) = self.filed.remove(&chat)
            && let Some(q) = self.queues.get_mut(&old.queue)
        {
            q.index.remove(&old.need, (old.key, chat));
        }
        if let Some(new) = want {
            if let Some(q) = self.queues.get_mut(&new.queue) {
                q.index.insert(&new.need, (new.key, chat));
            }
            self.filed.insert(chat, new);
        }
    }

    /// The chats filed in the index, each with its queue and need (for the property tests).
    #[cfg(test)]
    pub(super) fn filed_need(&self, chat: ChatId) -> Option<(&QueueId, &Need)> {
        self.filed.get(&chat).map(|f| (&f.queue, &f.need))
    }

    /// How many chats the index holds, counted over every queue (for the property tests).
    #[cfg(test)]
    pub(super) fn indexed_len(&self) -> (usize, usize) {
        (
            self.filed.len(),
            self.queues.values().map(|q| q.index.len()).sum(),
        )
    }
}
