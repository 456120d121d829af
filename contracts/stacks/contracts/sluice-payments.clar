;; title: sluice-payments
;; version: 1
;; summary: Operator-signed payments and escrow for STX and any SIP-010 token (sBTC included).
;; description: The Stacks counterpart of SluicePayments + SluiceEscrow. The gateway's operator key
;;   signs each payment intent off chain as SIP-018 structured data whose domain binds the chain id
;;   and this contract; the payer submits it. `pay` checks the signature, the deadline, the payer,
;;   the token, the nonce and the intent id, and pays the merchant and every split recipient from
;;   the payer in the same transaction. The escrow functions (`deposit`, `capture`, `refund`,
;;   `void`, `reclaim`) hold funds for manual capture. `pause` stops payments, deposits and
;;   captures, never refunds, voids or reclaims. Every state change `print`s one event tuple that
;;   the Python rail (sluice/rails/stacks/events.py) decodes.
;;   Amounts are integers in the token's base units (micro-STX, sBTC satoshis) below 2^128 / 10^4.

(use-trait ft .sip-010-trait.sip-010-trait)

;; ------------------------------------------------------------------------------------- constants

;; SIP-018 prefix: "SIP018" in ASCII.
(define-constant SIP018_PREFIX 0x534950303138)
;; SIP-018 domain hash: name and version, the chain id and this contract, so a signature made for
;; one contract or chain is worthless on any other (as EIP-712's chainId + verifyingContract).
(define-constant DOMAIN_HASH
  (sha256 (unwrap-panic (to-consensus-buff? {
    name: "sluice-payments",
    version: "1",
    chain-id: chain-id,
    verifying-contract: current-contract
  }))))
;; Basis-point denominator.
(define-constant BPS u10000)
;; Largest total of an intent's splits, in basis points (50%).
(define-constant MAX_FEE_BPS u5000)
;; Longest time (seconds) a rotated-out signer's signatures stay valid.
(define-constant MAX_SIGNER_GRACE u86400)
;; Escrow statuses.
(define-constant STATUS_OPEN u1)
(define-constant STATUS_VOIDED u2)
(define-constant STATUS_RECLAIMED u3)

;; Errors: the contract's own codes, u1000 and up, apart from the (err u0..u128) that `as-contract?`
;; answers when a payout would move an asset beyond its allowance (a misbehaving token).
(define-constant ERR_NOT_OWNER (err u1000))
(define-constant ERR_NOT_PENDING_OWNER (err u1001))
(define-constant ERR_PAUSED (err u1002))
(define-constant ERR_NOT_PAUSED (err u1003))
(define-constant ERR_INVALID_SIGNATURE (err u1004))
(define-constant ERR_WRONG_SIGNER (err u1005))
(define-constant ERR_EXPIRED (err u1006))
(define-constant ERR_NONCE_USED (err u1007))
(define-constant ERR_INTENT_USED (err u1008))
(define-constant ERR_WRONG_PAYER (err u1009))
(define-constant ERR_WRONG_TOKEN (err u1010))
(define-constant ERR_ZERO_AMOUNT (err u1011))
(define-constant ERR_FEE_TOO_HIGH (err u1012))
(define-constant ERR_ESCROW_ONLY (err u1013))
(define-constant ERR_INVALID_RECLAIM_TIME (err u1014))
(define-constant ERR_WRONG_AMOUNT (err u1015))
(define-constant ERR_TRANSFER_SHORTFALL (err u1016))
(define-constant ERR_TRANSFER_FAILED (err u1017))
(define-constant ERR_ESCROW_NOT_OPEN (err u1018))
(define-constant ERR_INSUFFICIENT_BALANCE (err u1019))
(define-constant ERR_NOT_OPERATOR_OR_MERCHANT (err u1020))
(define-constant ERR_NOT_PAYER (err u1021))
(define-constant ERR_CAPTURE_WINDOW_CLOSED (err u1022))
(define-constant ERR_RECLAIM_TOO_EARLY (err u1023))
(define-constant ERR_GRACE_TOO_LONG (err u1024))
(define-constant ERR_NOT_OPERATOR (err u1025))
(define-constant ERR_INVALID_KEY (err u1026))
(define-constant ERR_INTENT_MISMATCH (err u1027))
(define-constant ERR_NO_SIGNER (err u1028))

;; --------------------------------------------------------------------------------------- storage

;; Owner: rotates the signer, pauses. Two-step transfer through `pending-owner`.
(define-data-var owner principal tx-sender)
(define-data-var pending-owner (optional principal) none)
;; The operator's compressed secp256k1 public key; none until the first `rotate-signer`.
(define-data-var signer (optional (buff 33)) none)
;; The key replaced by the last rotation, valid while stacks-block-time < previous-signer-until.
(define-data-var previous-signer (optional (buff 33)) none)
(define-data-var previous-signer-until uint u0)
;; Whether payments, deposits and captures are stopped.
(define-data-var paused bool false)
;; Used or invalidated nonces, and intent ids already paid or deposited.
(define-map used-nonces uint bool)
(define-map used-ids (buff 32) bool)
;; Open and closed escrows by intent id; the intent's terms are kept so that capture, refund, void
;; and reclaim need only the id. `intent-hash` binds later partial deposits to the same intent.
(define-map escrows (buff 32) {
  intent-hash: (buff 32),
  payer: principal,
  merchant: principal,
  token: (optional principal),
  amount: uint,
  splits: (list 5 { recipient: principal, bps: uint }),
  deadline: uint,
  reclaim-after: uint,
  deposited: uint,
  captured: uint,
  refunded: uint,
  released: uint,
  status: uint
})

;; ----------------------------------------------------------------------------------- owner calls

;; Starts a two-step ownership transfer; `new-owner` must call `accept-ownership`.
(define-public (transfer-ownership (new-owner principal))
  (begin
    (asserts! (is-eq tx-sender (var-get owner)) ERR_NOT_OWNER)
    (var-set pending-owner (some new-owner))
    (print { event: "ownership-transfer-started", owner: tx-sender, pending-owner: new-owner })
    (ok true)))

;; Completes an ownership transfer started by the owner.
(define-public (accept-ownership)
  (begin
    (asserts! (is-eq (some tx-sender) (var-get pending-owner)) ERR_NOT_PENDING_OWNER)
    (print { event: "ownership-transferred", previous-owner: (var-get owner), owner: tx-sender })
    (var-set owner tx-sender)
    (var-set pending-owner none)
    (ok true)))

;; Replaces the operator key. The previous key stays valid for `grace` seconds (at most a day) so
;; that intents already handed out can still be paid; u0 revokes it at once (a leaked key).
(define-public (rotate-signer (new-signer (buff 33)) (grace uint))
  (let ((until (+ stacks-block-time grace)))
    (asserts! (is-eq tx-sender (var-get owner)) ERR_NOT_OWNER)
    (asserts! (<= grace MAX_SIGNER_GRACE) ERR_GRACE_TOO_LONG)
    (asserts! (is-ok (principal-of? new-signer)) ERR_INVALID_KEY)
    (print { event: "signer-rotated", previous-signer: (var-get signer), signer: new-signer,
             previous-valid-until: until })
    (var-set previous-signer (var-get signer))
    (var-set previous-signer-until until)
    (var-set signer (some new-signer))
    (ok true)))

;; Stops new payments, deposits and captures. Refunds, voids and reclaims stay open.
(define-public (pause)
  (begin
    (asserts! (is-eq tx-sender (var-get owner)) ERR_NOT_OWNER)
    (asserts! (not (var-get paused)) ERR_PAUSED)
    (var-set paused true)
    (print { event: "paused", account: tx-sender })
    (ok true)))

;; Lifts a pause.
(define-public (unpause)
  (begin
    (asserts! (is-eq tx-sender (var-get owner)) ERR_NOT_OWNER)
    (asserts! (var-get paused) ERR_NOT_PAUSED)
    (var-set paused false)
    (print { event: "unpaused", account: tx-sender })
    (ok true)))

;; Marks a nonce used so that its signed intent can never be paid (the intent was cancelled).
;; Callable by the owner or the operator (the principal of a valid signer key).
(define-public (invalidate-nonce (nonce uint))
  (begin
    (asserts! (or (is-eq tx-sender (var-get owner)) (is-operator tx-sender)) ERR_NOT_OPERATOR)
    (map-set used-nonces nonce true)
    (print { event: "nonce-invalidated", nonce: nonce, account: tx-sender })
    (ok true)))

;; ---------------------------------------------------------------------------------------- paying

;; Pays an intent in full: STX when `token` is none, else the SIP-010 token the intent names. The
;; merchant gets the amount less the splits; each split recipient gets amount * bps / 10,000.
(define-public (pay
    (intent {
      id: (buff 32), nonce: uint, token: (optional principal), amount: uint, payer: (optional principal),
      deadline: uint, merchant: principal, splits: (list 5 { recipient: principal, bps: uint }),
      reclaim-after: uint, allow-partial: bool
    })
    (signature (buff 65))
    (token (optional <ft>)))
  (let (
      (amount (get amount intent))
      (fees (fee-amounts (get splits intent) amount))
      (merchant-amount (- amount (fold + fees u0))))
    ;; Check
    (asserts! (not (var-get paused)) ERR_PAUSED)
    (asserts! (and (is-eq (get reclaim-after intent) u0) (not (get allow-partial intent))) ERR_ESCROW_ONLY)
    (try! (check-intent intent signature token))
    ;; Update
    (map-set used-nonces (get nonce intent) true)
    (map-set used-ids (get id intent) true)
    (print { event: "paid", id: (get id intent), nonce: (get nonce intent), payer: tx-sender,
             merchant: (get merchant intent), token: (get token intent), amount: amount,
             merchant-amount: merchant-amount, fee-amounts: fees })
    ;; Transfer (from the payer, so no as-contract)
    (distribute token (get merchant intent) (get splits intent) merchant-amount fees)))

;; ---------------------------------------------------------------------------------------- escrow

;; Deposits into the escrow of an intent with a reclaim time. The first deposit checks the
;; signature and consumes the nonce; later ones (only when the intent allows partial deposits)
;; must come from the same payer with the same intent before its deadline.
(define-public (deposit
    (intent {
      id: (buff 32), nonce: uint, token: (optional principal), amount: uint, payer: (optional principal),
      deadline: uint, merchant: principal, splits: (list 5 { recipient: principal, bps: uint }),
      reclaim-after: uint, allow-partial: bool
    })
    (signature (buff 65))
    (token (optional <ft>))
    (amount uint))
  (let ((id (get id intent)) (hash (intent-hash intent)))
    ;; Check
    (asserts! (not (var-get paused)) ERR_PAUSED)
    (asserts! (> amount u0) ERR_ZERO_AMOUNT)
    (let ((total (match (map-get? escrows id)
                   e (try! (check-top-up e hash intent token amount))
                   (try! (check-first-deposit intent signature token amount)))))
      ;; Update
      (map-set escrows id (merge
        (default-to {
          intent-hash: hash, payer: tx-sender, merchant: (get merchant intent), token: (get token intent),
          amount: (get amount intent), splits: (get splits intent), deadline: (get deadline intent),
          reclaim-after: (get reclaim-after intent), deposited: u0, captured: u0, refunded: u0,
          released: u0, status: STATUS_OPEN
        } (map-get? escrows id))
        { deposited: total }))
      (print { event: "deposited", id: id, payer: tx-sender, token: (get token intent), amount: amount,
               total: total })
      ;; Transfer (into this contract; the balance delta is checked for tokens)
      (send token amount current-contract))))

;; Pays `amount` of an open escrow to the merchant and the splits. Merchant or operator; before
;; the reclaim time; not while paused.
(define-public (capture (id (buff 32)) (token (optional <ft>)) (amount uint))
  (let (
      (e (try! (open-escrow id token)))
      (fees (fee-amounts (get splits e) amount))
      (merchant-amount (- amount (fold + fees u0)))
      (total (+ (get captured e) amount)))
    ;; Check
    (asserts! (not (var-get paused)) ERR_PAUSED)
    (try! (check-merchant-or-operator (get merchant e)))
    (asserts! (< stacks-block-time (get reclaim-after e)) ERR_CAPTURE_WINDOW_CLOSED)
    (try! (check-available e amount))
    ;; Update
    (map-set escrows id (merge e { captured: total }))
    (print { event: "captured", id: id, merchant: (get merchant e), token: (get token e), amount: amount,
             merchant-amount: merchant-amount, fee-amounts: fees, total: total })
    ;; Transfer
    (payout-distribute token amount (get merchant e) (get splits e) merchant-amount fees)))

;; Sends `amount` of an open escrow back to the payer. Merchant or operator; also while paused.
(define-public (refund (id (buff 32)) (token (optional <ft>)) (amount uint))
  (let ((e (try! (open-escrow id token))) (total (+ (get refunded e) amount)))
    ;; Check
    (try! (check-merchant-or-operator (get merchant e)))
    (try! (check-available e amount))
    ;; Update
    (map-set escrows id (merge e { refunded: total }))
    (print { event: "refunded", id: id, payer: (get payer e), token: (get token e), amount: amount,
             total: total })
    ;; Transfer
    (payout-send token amount (get payer e))))

;; Closes an open escrow and returns what was not captured or refunded to the payer. Merchant or
;; operator; also while paused.
(define-public (void (id (buff 32)) (token (optional <ft>)))
  (let ((e (try! (open-escrow id token))) (rest (available e)))
    ;; Check
    (try! (check-merchant-or-operator (get merchant e)))
    ;; Update + Transfer
    (release id e rest STATUS_VOIDED "voided" token)))

;; Lets the payer take back what was not captured or refunded once the reclaim time has come;
;; also while paused.
(define-public (reclaim (id (buff 32)) (token (optional <ft>)))
  (let ((e (try! (open-escrow id token))) (rest (available e)))
    ;; Check
    (asserts! (is-eq tx-sender (get payer e)) ERR_NOT_PAYER)
    (asserts! (>= stacks-block-time (get reclaim-after e)) ERR_RECLAIM_TOO_EARLY)
    ;; Update + Transfer
    (release id e rest STATUS_RECLAIMED "reclaimed" token)))

;; ------------------------------------------------------------------------------------ read-only

;; The SIP-018 message hash the operator signs for `intent` on this contract and chain.
(define-read-only (intent-hash (intent {
      id: (buff 32), nonce: uint, token: (optional principal), amount: uint, payer: (optional principal),
      deadline: uint, merchant: principal, splits: (list 5 { recipient: principal, bps: uint }),
      reclaim-after: uint, allow-partial: bool
    }))
  (sha256 (concat SIP018_PREFIX (concat DOMAIN_HASH (sha256 (unwrap-panic (to-consensus-buff? intent)))))))

(define-read-only (get-domain-hash) DOMAIN_HASH)
(define-read-only (get-owner) (var-get owner))
(define-read-only (get-pending-owner) (var-get pending-owner))
(define-read-only (get-signer) (var-get signer))
(define-read-only (get-previous-signer)
  { signer: (var-get previous-signer), valid-until: (var-get previous-signer-until) })
(define-read-only (is-paused) (var-get paused))
(define-read-only (is-nonce-used (nonce uint)) (default-to false (map-get? used-nonces nonce)))
(define-read-only (is-id-used (id (buff 32))) (default-to false (map-get? used-ids id)))
(define-read-only (get-escrow (id (buff 32))) (map-get? escrows id))
(define-read-only (get-max-fee-bps) MAX_FEE_BPS)

;; What an escrow could still capture: deposited less captured and refunded, 0 unless open.
(define-read-only (capturable (id (buff 32)))
  (match (map-get? escrows id)
    e (if (is-eq (get status e) STATUS_OPEN) (available e) u0)
    u0))

;; Whether `account` is the principal of a valid signer key (the operator may capture, refund,
;; void and invalidate nonces).
(define-read-only (is-operator (account principal))
  (or (key-is-principal (var-get signer) account)
      (and (< stacks-block-time (var-get previous-signer-until))
           (key-is-principal (var-get previous-signer) account))))

;; -------------------------------------------------------------------------------------- private

(define-private (key-is-principal (key (optional (buff 33))) (account principal))
  (match key k (is-eq (principal-of? k) (ok account)) false))

;; Whether a recovered public key is the signer, or the previous signer in its grace period.
(define-private (is-signer-key (key (buff 33)))
  (or (is-eq (some key) (var-get signer))
      (and (is-eq (some key) (var-get previous-signer))
           (< stacks-block-time (var-get previous-signer-until)))))

;; Every check of a fresh intent: amount, token, signature, deadline, payer, splits, nonce, id.
(define-private (check-intent
    (intent {
      id: (buff 32), nonce: uint, token: (optional principal), amount: uint, payer: (optional principal),
      deadline: uint, merchant: principal, splits: (list 5 { recipient: principal, bps: uint }),
      reclaim-after: uint, allow-partial: bool
    })
    (signature (buff 65))
    (token (optional <ft>)))
  (let ((key (unwrap! (secp256k1-recover? (intent-hash intent) signature) ERR_INVALID_SIGNATURE)))
    (asserts! (is-some (var-get signer)) ERR_NO_SIGNER)
    (asserts! (is-signer-key key) ERR_WRONG_SIGNER)
    (asserts! (> (get amount intent) u0) ERR_ZERO_AMOUNT)
    (asserts! (is-eq (token-principal token) (get token intent)) ERR_WRONG_TOKEN)
    (asserts! (<= stacks-block-time (get deadline intent)) ERR_EXPIRED)
    (asserts! (match (get payer intent) p (is-eq p tx-sender) true) ERR_WRONG_PAYER)
    (asserts! (<= (fold add-bps (get splits intent) u0) MAX_FEE_BPS) ERR_FEE_TOO_HIGH)
    (asserts! (not (is-nonce-used (get nonce intent))) ERR_NONCE_USED)
    (asserts! (not (is-id-used (get id intent))) ERR_INTENT_USED)
    (ok true)))

;; The first deposit of an escrow intent: the checks of `pay`, a reclaim time after the deadline,
;; and the amount (exact, or at most the intent's when partial deposits are allowed). Consumes the
;; nonce and the id. Returns the new total.
(define-private (check-first-deposit
    (intent {
      id: (buff 32), nonce: uint, token: (optional principal), amount: uint, payer: (optional principal),
      deadline: uint, merchant: principal, splits: (list 5 { recipient: principal, bps: uint }),
      reclaim-after: uint, allow-partial: bool
    })
    (signature (buff 65))
    (token (optional <ft>))
    (amount uint))
  (begin
    (asserts! (> (get reclaim-after intent) (get deadline intent)) ERR_INVALID_RECLAIM_TIME)
    (try! (check-intent intent signature token))
    (asserts! (if (get allow-partial intent) (<= amount (get amount intent)) (is-eq amount (get amount intent)))
              ERR_WRONG_AMOUNT)
    (map-set used-nonces (get nonce intent) true)
    (map-set used-ids (get id intent) true)
    (ok amount)))

;; A later deposit into an open partial escrow. Returns the new total.
(define-private (check-top-up
    (e { intent-hash: (buff 32), payer: principal, merchant: principal, token: (optional principal),
         amount: uint, splits: (list 5 { recipient: principal, bps: uint }), deadline: uint,
         reclaim-after: uint, deposited: uint, captured: uint, refunded: uint, released: uint, status: uint })
    (hash (buff 32))
    (intent {
      id: (buff 32), nonce: uint, token: (optional principal), amount: uint, payer: (optional principal),
      deadline: uint, merchant: principal, splits: (list 5 { recipient: principal, bps: uint }),
      reclaim-after: uint, allow-partial: bool
    })
    (token (optional <ft>))
    (amount uint))
  (let ((total (+ (get deposited e) amount)))
    (asserts! (is-eq (get status e) STATUS_OPEN) ERR_ESCROW_NOT_OPEN)
    (asserts! (is-eq (get intent-hash e) hash) ERR_INTENT_MISMATCH)
    (asserts! (is-eq tx-sender (get payer e)) ERR_NOT_PAYER)
    (asserts! (is-eq (token-principal token) (get token e)) ERR_WRONG_TOKEN)
    (asserts! (<= stacks-block-time (get deadline e)) ERR_EXPIRED)
    (asserts! (<= total (get amount e)) ERR_WRONG_AMOUNT)
    (ok total)))

;; The escrow of `id` if it is open and `token` is its token.
(define-private (open-escrow (id (buff 32)) (token (optional <ft>)))
  (let ((e (unwrap! (map-get? escrows id) ERR_ESCROW_NOT_OPEN)))
    (asserts! (is-eq (get status e) STATUS_OPEN) ERR_ESCROW_NOT_OPEN)
    (asserts! (is-eq (token-principal token) (get token e)) ERR_WRONG_TOKEN)
    (ok e)))

(define-private (check-merchant-or-operator (merchant principal))
  (ok (asserts! (or (is-eq tx-sender merchant) (is-operator tx-sender)) ERR_NOT_OPERATOR_OR_MERCHANT)))

(define-private (check-available
    (e { intent-hash: (buff 32), payer: principal, merchant: principal, token: (optional principal),
         amount: uint, splits: (list 5 { recipient: principal, bps: uint }), deadline: uint,
         reclaim-after: uint, deposited: uint, captured: uint, refunded: uint, released: uint, status: uint })
    (amount uint))
  (begin
    (asserts! (> amount u0) ERR_ZERO_AMOUNT)
    (ok (asserts! (<= amount (available e)) ERR_INSUFFICIENT_BALANCE))))

(define-private (available
    (e { intent-hash: (buff 32), payer: principal, merchant: principal, token: (optional principal),
         amount: uint, splits: (list 5 { recipient: principal, bps: uint }), deadline: uint,
         reclaim-after: uint, deposited: uint, captured: uint, refunded: uint, released: uint, status: uint }))
  (- (get deposited e) (get captured e) (get refunded e)))

;; Closes an escrow (void or reclaim) and returns `rest` to the payer.
(define-private (release
    (id (buff 32))
    (e { intent-hash: (buff 32), payer: principal, merchant: principal, token: (optional principal),
         amount: uint, splits: (list 5 { recipient: principal, bps: uint }), deadline: uint,
         reclaim-after: uint, deposited: uint, captured: uint, refunded: uint, released: uint, status: uint })
    (rest uint)
    (status uint)
    (event (string-ascii 9))
    (token (optional <ft>)))
  (begin
    (map-set escrows id (merge e { status: status, released: rest }))
    (print { event: event, id: id, payer: (get payer e), token: (get token e), amount: rest })
    (if (is-eq rest u0) (ok true) (payout-send token rest (get payer e)))))

(define-private (token-principal (token (optional <ft>)))
  (match token t (some (contract-of t)) none))

(define-private (add-bps (split { recipient: principal, bps: uint }) (total uint))
  (+ total (get bps split)))

(define-private (add-fee (split { recipient: principal, bps: uint }) (acc { amount: uint, fees: (list 5 uint) }))
  (merge acc { fees: (unwrap-panic (as-max-len? (append (get fees acc) (/ (* (get amount acc) (get bps split)) BPS)) u5)) }))

;; Each split's share of `amount`, in the splits' order (rounded down; the merchant gets the rest).
;; (A fold: Clarity's two-list `map` fails at run time when the splits are empty.)
(define-private (fee-amounts (splits (list 5 { recipient: principal, bps: uint })) (amount uint))
  (get fees (fold add-fee splits { amount: amount, fees: (list) })))

;; Moves `amount` from tx-sender to `recipient` (nothing for 0). For a token, the recipient's
;; balance must grow by exactly `amount`: a token that lies in `transfer` or takes a fee is refused.
(define-private (send (token (optional <ft>)) (amount uint) (recipient principal))
  (if (is-eq amount u0)
    (ok true)
    (match token t
      (let ((before (unwrap! (contract-call? t get-balance recipient) ERR_TRANSFER_FAILED)))
        (unwrap! (contract-call? t transfer amount tx-sender recipient none) ERR_TRANSFER_FAILED)
        (asserts! (is-eq (unwrap! (contract-call? t get-balance recipient) ERR_TRANSFER_FAILED) (+ before amount))
                  ERR_TRANSFER_SHORTFALL)
        (ok true))
      (begin
        (unwrap! (stx-transfer? amount tx-sender recipient) ERR_TRANSFER_FAILED)
        (ok true)))))

(define-private (send-split
    (token (optional <ft>))
    (split (optional { recipient: principal, bps: uint }))
    (fee (optional uint)))
  (match split s (send token (default-to u0 fee) (get recipient s)) (ok true)))

;; Pays the merchant, then each split recipient (at most 5), from tx-sender.
(define-private (distribute
    (token (optional <ft>))
    (merchant principal)
    (splits (list 5 { recipient: principal, bps: uint }))
    (merchant-amount uint)
    (fees (list 5 uint)))
  (begin
    (try! (send token merchant-amount merchant))
    (try! (send-split token (element-at? splits u0) (element-at? fees u0)))
    (try! (send-split token (element-at? splits u1) (element-at? fees u1)))
    (try! (send-split token (element-at? splits u2) (element-at? fees u2)))
    (try! (send-split token (element-at? splits u3) (element-at? fees u3)))
    (try! (send-split token (element-at? splits u4) (element-at? fees u4)))
    (ok true)))

;; Pays the merchant and the splits out of this contract's own balance, allowing it to move at
;; most `amount` of the escrow's asset and nothing else: a token that tries to take more aborts it.
(define-private (payout-distribute
    (token (optional <ft>))
    (amount uint)
    (merchant principal)
    (splits (list 5 { recipient: principal, bps: uint }))
    (merchant-amount uint)
    (fees (list 5 uint)))
  (match token t
    (as-contract? ((with-ft (contract-of t) "*" amount))
      (try! (distribute token merchant splits merchant-amount fees)))
    (as-contract? ((with-stx amount))
      (try! (distribute token merchant splits merchant-amount fees)))))

;; Sends `amount` out of this contract's own balance to `recipient`, with the same allowance.
(define-private (payout-send (token (optional <ft>)) (amount uint) (recipient principal))
  (match token t
    (as-contract? ((with-ft (contract-of t) "*" amount)) (try! (send token amount recipient)))
    (as-contract? ((with-stx amount)) (try! (send token amount recipient)))))
