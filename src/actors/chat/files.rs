//! A chat's attachments (contract §12): who may upload to it (`MayAttach`), the files uploaded
//! and not yet sent (`AttachmentStored` after their commit, or reloaded on restart), and claiming
//! them for a `send`: each once, only in this chat, only by its uploader. A claimed file leaves
//! the unsent list when its message is handed to the writer and comes back if that commit fails.

use super::*;
use crate::protocol::AttachmentRef;
use crate::store::attachments::AttachmentMeta;

/// Most files one message may carry.
pub const MAX_FILES_PER_MESSAGE: usize = 10;

/// Files uploaded to a chat and not yet sent, by id.
#[derive(Debug, Default)]
pub struct Unsent {
    files: HashMap<String, AttachmentMeta>,
}

impl Unsent {
    /// Takes `ids` for a message from `from`: all of them or, on the first one that is not
    /// `from`'s unsent file in this chat, none (`not_found`, as for a file that does not exist).
    pub fn claim(&mut self, from: &ActorRef, ids: &[String]) -> AppResult<Vec<AttachmentMeta>> {
        if ids.len() > MAX_FILES_PER_MESSAGE {
            return Err(AppError::bad_request(format!(
                "a message carries at most {MAX_FILES_PER_MESSAGE} attachments"
            )));
        }
        for (i, id) in ids.iter().enumerate() {
            if ids[..i].contains(id) {
                return Err(AppError::bad_request(format!(
                    "attachment {id} is listed twice"
                )));
            }
            let mine = self
                .files
                .get(id)
                .is_some_and(|f| f.uploader_id == from.id && f.uploader_role == from.role.as_str());
            if !mine {
                return Err(AppError::not_found(format!("attachment {id}")));
            }
        }
        Ok(ids.iter().filter_map(|id| self.files.remove(id)).collect())
    }

    /// Gives back files whose message could not be stored.
    pub fn restore(&mut self, files: Vec<AttachmentMeta>) {
        for f in files {
            self.files.insert(f.id.clone(), f);
        }
    }

    pub fn add(&mut self, file: AttachmentMeta) {
        self.files.insert(file.id.clone(), file);
    }
}

impl FromIterator<AttachmentMeta> for Unsent {
    fn from_iter<I: IntoIterator<Item = AttachmentMeta>>(files: I) -> Self {
        let mut unsent = Unsent::default();
        files.into_iter().for_each(|f| unsent.add(f));
        unsent
    }
}

/// The `AttachmentRef`s a message lists for `files`.
pub fn refs(files: &[AttachmentMeta]) -> Vec<AttachmentRef> {
    files.iter().cloned().map(views::attachment_ref).collect()
}

/// Asked by the upload route before it reads the body: may `who` upload to this chat now?
/// `not_found` for a non-participant, `conflict` once the chat is ending.
#[derive(Message)]
#[rtype(result = "Result<(), AppError>")]
pub struct MayAttach {
    pub who: ActorRef,
}

impl Handler<MayAttach> for ChatActor {
    type Result = Result<(), AppError>;

    fn handle(&mut self, msg: MayAttach, _: &mut Context<Self>) -> Self::Result {
        if !self.is_participant(&msg.who) {
            return Err(self.not_found());
        }
        if self.ended.is_some() || self.closing {
            return Err(AppError::conflict("the chat has ended"));
        }
        Ok(())
    }
}

/// A file for this chat was committed: its uploader may now send it.
#[derive(Message)]
#[rtype(result = "()")]
pub struct AttachmentStored(pub AttachmentMeta);

impl Handler<AttachmentStored> for ChatActor {
    type Result = ();

    fn handle(&mut self, msg: AttachmentStored, _: &mut Context<Self>) {
        if msg.0.chat_id == self.facts.id.to_string() {
            self.unsent.add(msg.0);
        }
    }
}
