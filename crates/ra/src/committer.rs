//! Group commit: every issued certificate is stored by one writer task that gathers the
//! certificates signed while the previous batch was being written and commits them in one
//! transaction.
//!
//! Why: a commit that must survive a power cut costs an fsync, and each statement costs a
//! round trip to the database. Committing one certificate per transaction capped issuance
//! at a few hundred per second whatever the signing speed; a batch pays the fsync once.
//! Nothing is weakened: a caller hears "stored" only after its batch has committed, so a
//! crash loses only certificates nobody has received (see `docs/adr/0004-serials-and-atomic-issuance.md`).

use crate::{RaError, Result};
use castellan_model::{CertificateId, RequestId};
use castellan_store::{NewCertificate, NewRequest, Store, StoreError};
use tokio::sync::{mpsc, oneshot};

/// Most certificates written in one transaction.
const MAX_BATCH: usize = 128;

/// What a job's caller hears: the ids, or `None` when the serial was already taken.
type Outcome = Result<Option<(RequestId, CertificateId)>>;

struct Job {
    request: NewRequest,
    certificate: NewCertificate,
    reply: oneshot::Sender<Outcome>,
}

/// The handle callers use; the writer task stops when the last handle is dropped.
#[derive(Clone)]
pub(crate) struct Committer {
    jobs: mpsc::Sender<Job>,
}

impl Committer {
    /// Starts the writer task for `store`.
    pub(crate) fn start(store: Store) -> Committer {
        let (jobs, mut queue) = mpsc::channel::<Job>(4 * MAX_BATCH);
        tokio::spawn(async move {
            while let Some(first) = queue.recv().await {
                let mut batch = vec![first];
                while batch.len() < MAX_BATCH {
                    match queue.try_recv() {
                        Ok(job) => batch.push(job),
                        Err(_) => break,
                    }
                }
                write_batch(&store, batch).await;
            }
        });
        Committer { jobs }
    }

    /// Stores a request and its certificate; returns their ids, or `None` if the
    /// certificate's serial is already taken (nothing is stored then).
    pub(crate) async fn commit(&self, request: NewRequest, certificate: NewCertificate) -> Outcome {
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send(Job {
                request,
                certificate,
                reply,
            })
            .await
            .map_err(|_| RaError::Internal("the certificate writer has stopped".into()))?;
        answer
            .await
            .map_err(|_| RaError::Internal("the certificate writer dropped a certificate".into()))?
    }
}

async fn write_batch(store: &Store, batch: Vec<Job>) {
    let started = std::time::Instant::now();
    let size = batch.len();
    let pairs: Vec<(&NewRequest, &NewCertificate)> =
        batch.iter().map(|j| (&j.request, &j.certificate)).collect();
    match write(store, &pairs).await {
        Ok(outcomes) => {
            for (job, outcome) in batch.into_iter().zip(outcomes) {
                let _ = job.reply.send(Ok(outcome));
            }
            tracing::debug!(
                size,
                micros = started.elapsed().as_micros() as u64,
                "batch committed"
            );
        }
        Err(e) if batch.len() == 1 => {
            if let Some(job) = batch.into_iter().next() {
                let _ = job.reply.send(Err(e.into()));
            }
        }
        Err(e) => {
            // One bad certificate must not fail the others: write them one by one.
            tracing::warn!(error = %e, size = batch.len(), "batch failed; writing its certificates one by one");
            for job in batch {
                let outcome = write(store, &[(&job.request, &job.certificate)])
                    .await
                    .map(|mut o| o.pop().flatten())
                    .map_err(RaError::from);
                let _ = job.reply.send(outcome);
            }
        }
    }
}

async fn write(
    store: &Store,
    pairs: &[(&NewRequest, &NewCertificate)],
) -> std::result::Result<Vec<Option<(RequestId, CertificateId)>>, StoreError> {
    let mut tx = store.begin().await?;
    let outcomes = tx.insert_issued_batch(pairs).await?;
    tx.commit().await?;
    Ok(outcomes)
}
