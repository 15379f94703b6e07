//! Group commit for the audit log: one task owns appends in this process and writes whatever
//! has queued up in one transaction (one fsync), then answers every caller. A caller learns
//! only after its record is durable, so "no audit record, no action" still holds, while 200
//! concurrent requests cost a few fsyncs instead of 200.

use tokio::sync::{mpsc, oneshot};

use crate::audit::{AuditEntry, AuditError, AuditLog, AuditRecord};

/// Records written per transaction at most.
const MAX_BATCH: usize = 512;

type Reply = oneshot::Sender<Result<AuditEntry, String>>;

/// Handle to the writer task. Cheap to clone; the task ends when every handle is dropped.
#[derive(Debug, Clone)]
pub struct AuditWriter {
    tx: mpsc::Sender<(AuditRecord, Reply)>,
}

impl AuditWriter {
    /// Start the writer task on the current tokio runtime.
    pub fn spawn(log: AuditLog) -> Self {
        let (tx, mut rx) = mpsc::channel::<(AuditRecord, Reply)>(4 * MAX_BATCH);
        tokio::spawn(async move {
            while let Some(first) = rx.recv().await {
                let mut batch = vec![first];
                while batch.len() < MAX_BATCH {
                    match rx.try_recv() {
                        Ok(item) => batch.push(item),
                        Err(_) => break,
                    }
                }
                let (records, replies): (Vec<_>, Vec<_>) = batch.into_iter().unzip();
                match log.append_batch(&records).await {
                    Ok(entries) => {
                        for (reply, entry) in replies.into_iter().zip(entries) {
                            let _ = reply.send(Ok(entry));
                        }
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "audit append failed; refusing the actions");
                        let msg = e.to_string();
                        for reply in replies {
                            let _ = reply.send(Err(msg.clone()));
                        }
                    }
                }
            }
        });
        AuditWriter { tx }
    }

    /// Append one record and wait until it is committed.
    pub async fn append(&self, record: AuditRecord) -> Result<AuditEntry, AuditError> {
        let (reply, wait) = oneshot::channel();
        self.tx
            .send((record, reply))
            .await
            .map_err(|_| AuditError::Writer("writer task has stopped".into()))?;
        wait.await
            .map_err(|_| AuditError::Writer("writer task has stopped".into()))?
            .map_err(AuditError::Writer)
    }
}
