;; title: lying-token
;; summary: A malicious SIP-010 token whose `transfer` answers (ok true) without moving anything
;;   once `lie` is set. Tests only: sluice-payments must notice from the recipients' balances.

(impl-trait .sip-010-trait.sip-010-trait)

(define-fungible-token lying-token)
(define-data-var lie bool true)

(define-public (mint (amount uint) (recipient principal))
  (ft-mint? lying-token amount recipient))

(define-public (set-lie (value bool))
  (ok (var-set lie value)))

(define-public (transfer (amount uint) (sender principal) (recipient principal) (memo (optional (buff 34))))
  (if (var-get lie)
    (ok true)
    (ft-transfer? lying-token amount sender recipient)))

(define-read-only (get-name) (ok "Lying token"))
(define-read-only (get-symbol) (ok "LIE"))
(define-read-only (get-decimals) (ok u8))
(define-read-only (get-balance (who principal)) (ok (ft-get-balance lying-token who)))
(define-read-only (get-total-supply) (ok (ft-get-supply lying-token)))
(define-read-only (get-token-uri) (ok none))
