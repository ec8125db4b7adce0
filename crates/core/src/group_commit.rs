//! The gathering half of group commit: a single writer task takes the first queued request, then
//! whatever else is already queued, and serves them together in one transaction. Used by the
//! audit batcher (many callers' audit entries) and the record store's create batcher.
//!
//! Batches form without timers. A lone request is served at once; under load, requests queue up
//! while the previous batch commits and go into the next one together. When the previous batch
//! held more than one request (callers are concurrent), the writer first yields to the scheduler
//! a few times so requests already in flight join this batch: a few scheduler turns of latency
//! for batches several times larger (PostgreSQL's `commit_delay` idea, without a timer).

use tokio::sync::mpsc;

/// The writer's end of a request queue, and how it gathers batches.
#[derive(Debug)]
pub struct GroupQueue<T> {
    receiver: mpsc::Receiver<T>,
    max_batch: usize,
    yields: usize,
    /// Size of the batch gathered last: more than one means callers are concurrent.
    last_batch: usize,
}

impl<T> GroupQueue<T> {
    /// Gathers from `receiver` at most `max_batch` (at least 1) requests per batch, yielding
    /// `yields` scheduler turns to late joiners when callers are concurrent.
    pub fn new(receiver: mpsc::Receiver<T>, max_batch: usize, yields: usize) -> Self {
        Self { receiver, max_batch: max_batch.max(1), yields, last_batch: 0 }
    }

    /// The next batch: waits for one request, then takes what is queued (after yielding, when
    /// callers are concurrent). `None` once every sender is dropped and the queue is empty.
    pub async fn next_batch(&mut self) -> Option<Vec<T>> {
        let mut batch = Vec::with_capacity(self.max_batch);
        if self.receiver.recv_many(&mut batch, self.max_batch).await == 0 {
            return None;
        }
        if self.last_batch > 1 {
            for _ in 0..self.yields {
                if batch.len() >= self.max_batch {
                    break;
                }
                tokio::task::yield_now().await;
                while batch.len() < self.max_batch {
                    match self.receiver.try_recv() {
                        Ok(request) => batch.push(request),
                        Err(_) => break,
                    }
                }
            }
        }
        self.last_batch = batch.len();
        Some(batch)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[tokio::test]
    async fn a_batch_takes_what_is_queued_up_to_its_limit_and_ends_when_senders_are_gone() {
        let (sender, receiver) = mpsc::channel(16);
        let mut queue = GroupQueue::new(receiver, 3, 2);
        for n in 0..5 {
            sender.send(n).await.unwrap();
        }
        assert_eq!(queue.next_batch().await, Some(vec![0, 1, 2]));
        assert_eq!(queue.next_batch().await, Some(vec![3, 4]));
        drop(sender);
        assert_eq!(queue.next_batch().await, None);
    }

    #[tokio::test]
    async fn a_zero_limit_still_serves_one_request_at_a_time() {
        let (sender, receiver) = mpsc::channel(4);
        let mut queue = GroupQueue::new(receiver, 0, 0);
        sender.send("a").await.unwrap();
        sender.send("b").await.unwrap();
        assert_eq!(queue.next_batch().await, Some(vec!["a"]));
        assert_eq!(queue.next_batch().await, Some(vec!["b"]));
    }
}
