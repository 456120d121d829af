;; title: test-token
;; summary: A plain SIP-010 token with 8 decimals (sBTC's), minted freely: tests and the dev chain only.

(impl-trait .sip-010-trait.sip-010-trait)

(define-fungible-token test-token)

(define-constant ERR_NOT_SENDER (err u4))

(define-public (mint (amount uint) (recipient principal))
  (ft-mint? test-token amount recipient))

(define-public (transfer (amount uint) (sender principal) (recipient principal) (memo (optional (buff 34))))
  (begin
    (asserts! (or (is-eq tx-sender sender) (is-eq contract-caller sender)) ERR_NOT_SENDER)
    (try! (ft-transfer? test-token amount sender recipient))
    (match memo m (begin (print m) true) true)
    (ok true)))

(define-read-only (get-name) (ok "Test sBTC"))
(define-read-only (get-symbol) (ok "tsBTC"))
(define-read-only (get-decimals) (ok u8))
(define-read-only (get-balance (who principal)) (ok (ft-get-balance test-token who)))
(define-read-only (get-total-supply) (ok (ft-get-supply test-token)))
(define-read-only (get-token-uri) (ok none))
