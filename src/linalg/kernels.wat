;; The dense kernels of the supernodal Cholesky factorization and its selected inversion
;; (src/linalg/supernodal.ts), in WebAssembly SIMD: two doubles per instruction, about twice
;; what V8 gets from the same loops in JavaScript. They work on compact column-major buffers
;; and on the matrices in a factorization's (shared) kernel memory; addresses and strides are in
;; bytes. The callers pad the buffers so that the loops need no remainders: see the conditions at
;; each function.
(module
  (import "env" "memory" (memory 1 65536 shared))

  ;; T[j - j0][i - j0] += sum_c P[i, c] P[j, c] for target columns j in [j0, j1) and rows
  ;; i in [j, r) (with i = r too where r - j is odd, and the pair's second column from row j):
  ;; P's columns c < wpad (a multiple of 4, padded with zero columns) start at p with stride hb;
  ;; T's columns have stride tsb, which leaves a spare row after row r - 1. Two target columns
  ;; and four panel columns per pass: each load of P serves eight multiply-adds.
  (func (export "syrk") (param $t i32) (param $tsb i32) (param $p i32) (param $hb i32)
        (param $wpad i32) (param $j0 i32) (param $j1 i32) (param $r i32)
    (local $c i32) (local $j i32) (local $ib i32) (local $rb i32) (local $jb i32)
    (local $pc i32) (local $tc i32) (local $td i32)
    (local $l0 v128) (local $l1 v128) (local $l2 v128) (local $l3 v128)
    (local $m0 v128) (local $m1 v128) (local $m2 v128) (local $m3 v128)
    (local $x0 v128) (local $x1 v128) (local $x2 v128) (local $x3 v128)
    (local.set $rb (i32.shl (local.get $r) (i32.const 3)))
    (block $cdone
      (loop $cloop
        (br_if $cdone (i32.ge_s (local.get $c) (local.get $wpad)))
        (local.set $pc (i32.add (local.get $p) (i32.mul (local.get $c) (local.get $hb))))
        (local.set $j (local.get $j0))
        (block $jdone
          (loop $jloop
            (br_if $jdone (i32.ge_s (local.get $j) (local.get $j1)))
            (local.set $jb (i32.shl (local.get $j) (i32.const 3)))
            (local.set $l0 (f64x2.splat (f64.load (i32.add (local.get $pc) (local.get $jb)))))
            (local.set $l1 (f64x2.splat (f64.load (i32.add (i32.add (local.get $pc) (local.get $hb)) (local.get $jb)))))
            (local.set $l2 (f64x2.splat (f64.load (i32.add (i32.add (local.get $pc) (i32.shl (local.get $hb) (i32.const 1))) (local.get $jb)))))
            (local.set $l3 (f64x2.splat (f64.load (i32.add (i32.add (local.get $pc) (i32.mul (local.get $hb) (i32.const 3))) (local.get $jb)))))
            (local.set $m0 (f64x2.splat (f64.load offset=8 (i32.add (local.get $pc) (local.get $jb)))))
            (local.set $m1 (f64x2.splat (f64.load offset=8 (i32.add (i32.add (local.get $pc) (local.get $hb)) (local.get $jb)))))
            (local.set $m2 (f64x2.splat (f64.load offset=8 (i32.add (i32.add (local.get $pc) (i32.shl (local.get $hb) (i32.const 1))) (local.get $jb)))))
            (local.set $m3 (f64x2.splat (f64.load offset=8 (i32.add (i32.add (local.get $pc) (i32.mul (local.get $hb) (i32.const 3))) (local.get $jb)))))
            ;; T column j - j0 at row i sits at t + (j - j0) tsb + (i - j0) 8; here with ib = 8 i
            (local.set $tc (i32.sub (i32.add (local.get $t) (i32.mul (i32.sub (local.get $j) (local.get $j0)) (local.get $tsb)))
                                    (i32.shl (local.get $j0) (i32.const 3))))
            (local.set $td (i32.add (local.get $tc) (local.get $tsb)))
            (local.set $ib (local.get $jb))
            (block $idone
              (loop $iloop
                (br_if $idone (i32.ge_s (local.get $ib) (local.get $rb)))
                (local.set $x0 (v128.load (i32.add (local.get $pc) (local.get $ib))))
                (local.set $x1 (v128.load (i32.add (i32.add (local.get $pc) (local.get $hb)) (local.get $ib))))
                (local.set $x2 (v128.load (i32.add (i32.add (local.get $pc) (i32.shl (local.get $hb) (i32.const 1))) (local.get $ib))))
                (local.set $x3 (v128.load (i32.add (i32.add (local.get $pc) (i32.mul (local.get $hb) (i32.const 3))) (local.get $ib))))
                (v128.store (i32.add (local.get $tc) (local.get $ib))
                  (f64x2.add (v128.load (i32.add (local.get $tc) (local.get $ib)))
                    (f64x2.add
                      (f64x2.add (f64x2.mul (local.get $x0) (local.get $l0)) (f64x2.mul (local.get $x1) (local.get $l1)))
                      (f64x2.add (f64x2.mul (local.get $x2) (local.get $l2)) (f64x2.mul (local.get $x3) (local.get $l3))))))
                (v128.store (i32.add (local.get $td) (local.get $ib))
                  (f64x2.add (v128.load (i32.add (local.get $td) (local.get $ib)))
                    (f64x2.add
                      (f64x2.add (f64x2.mul (local.get $x0) (local.get $m0)) (f64x2.mul (local.get $x1) (local.get $m1)))
                      (f64x2.add (f64x2.mul (local.get $x2) (local.get $m2)) (f64x2.mul (local.get $x3) (local.get $m3))))))
                (local.set $ib (i32.add (local.get $ib) (i32.const 16)))
                (br $iloop)))
            (local.set $j (i32.add (local.get $j) (i32.const 2)))
            (br $jloop)))
        (local.set $c (i32.add (local.get $c) (i32.const 4)))
        (br $cloop))))

  ;; X[i, c] -= sum_jj G[i, jj] Y[jj, c] for rows i < ti (even), jj < tj (a multiple of 4, G
  ;; padded with zero columns) and columns c < w (even, X and Y padded with a column): x and y
  ;; address X[0, 0] and Y[0, 0], whose columns have stride rb; G's columns have stride gsb. Two
  ;; columns of X and four of G per pass: each load of G serves eight multiply-adds.
  (func (export "gemm") (param $x i32) (param $g i32) (param $gsb i32) (param $y i32) (param $rb i32)
        (param $ti i32) (param $tj i32) (param $w i32)
    (local $c i32) (local $jj i32) (local $off i32) (local $tib i32)
    (local $xc i32) (local $xd i32) (local $yc i32) (local $yd i32) (local $g0 i32)
    (local $y0 v128) (local $y1 v128) (local $y2 v128) (local $y3 v128)
    (local $v0 v128) (local $v1 v128) (local $v2 v128) (local $v3 v128)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (local.set $tib (i32.shl (local.get $ti) (i32.const 3)))
    (block $cdone
      (loop $cloop
        (br_if $cdone (i32.ge_s (local.get $c) (local.get $w)))
        (local.set $xc (i32.add (local.get $x) (i32.mul (local.get $c) (local.get $rb))))
        (local.set $xd (i32.add (local.get $xc) (local.get $rb)))
        (local.set $yc (i32.add (local.get $y) (i32.mul (local.get $c) (local.get $rb))))
        (local.set $yd (i32.add (local.get $yc) (local.get $rb)))
        (local.set $jj (i32.const 0))
        (block $jdone
          (loop $jloop
            (br_if $jdone (i32.ge_s (local.get $jj) (local.get $tj)))
            (local.set $y0 (f64x2.splat (f64.load offset=0 (i32.add (local.get $yc) (i32.shl (local.get $jj) (i32.const 3))))))
            (local.set $y1 (f64x2.splat (f64.load offset=8 (i32.add (local.get $yc) (i32.shl (local.get $jj) (i32.const 3))))))
            (local.set $y2 (f64x2.splat (f64.load offset=16 (i32.add (local.get $yc) (i32.shl (local.get $jj) (i32.const 3))))))
            (local.set $y3 (f64x2.splat (f64.load offset=24 (i32.add (local.get $yc) (i32.shl (local.get $jj) (i32.const 3))))))
            (local.set $v0 (f64x2.splat (f64.load offset=0 (i32.add (local.get $yd) (i32.shl (local.get $jj) (i32.const 3))))))
            (local.set $v1 (f64x2.splat (f64.load offset=8 (i32.add (local.get $yd) (i32.shl (local.get $jj) (i32.const 3))))))
            (local.set $v2 (f64x2.splat (f64.load offset=16 (i32.add (local.get $yd) (i32.shl (local.get $jj) (i32.const 3))))))
            (local.set $v3 (f64x2.splat (f64.load offset=24 (i32.add (local.get $yd) (i32.shl (local.get $jj) (i32.const 3))))))
            (local.set $g0 (i32.add (local.get $g) (i32.mul (local.get $jj) (local.get $gsb))))
            (local.set $off (i32.const 0))
            (block $idone
              (loop $iloop
                (br_if $idone (i32.ge_s (local.get $off) (local.get $tib)))
                (local.set $a0 (v128.load (i32.add (local.get $g0) (local.get $off))))
                (local.set $a1 (v128.load (i32.add (i32.add (local.get $g0) (local.get $gsb)) (local.get $off))))
                (local.set $a2 (v128.load (i32.add (i32.add (local.get $g0) (i32.shl (local.get $gsb) (i32.const 1))) (local.get $off))))
                (local.set $a3 (v128.load (i32.add (i32.add (local.get $g0) (i32.mul (local.get $gsb) (i32.const 3))) (local.get $off))))
                (v128.store (i32.add (local.get $xc) (local.get $off))
                  (f64x2.sub (v128.load (i32.add (local.get $xc) (local.get $off)))
                    (f64x2.add
                      (f64x2.add (f64x2.mul (local.get $a0) (local.get $y0)) (f64x2.mul (local.get $a1) (local.get $y1)))
                      (f64x2.add (f64x2.mul (local.get $a2) (local.get $y2)) (f64x2.mul (local.get $a3) (local.get $y3))))))
                (v128.store (i32.add (local.get $xd) (local.get $off))
                  (f64x2.sub (v128.load (i32.add (local.get $xd) (local.get $off)))
                    (f64x2.add
                      (f64x2.add (f64x2.mul (local.get $a0) (local.get $v0)) (f64x2.mul (local.get $a1) (local.get $v1)))
                      (f64x2.add (f64x2.mul (local.get $a2) (local.get $v2)) (f64x2.mul (local.get $a3) (local.get $v3))))))
                (local.set $off (i32.add (local.get $off) (i32.const 16)))
                (br $iloop)))
            (local.set $jj (i32.add (local.get $jj) (i32.const 4)))
            (br $jloop)))
        (local.set $c (i32.add (local.get $c) (i32.const 2)))
        (br $cloop))))
;; col[i] *= s for rows i in [from, to): pairs, then a last single row
  (func $scaleRows (param $col i32) (param $s f64) (param $from i32) (param $to i32)
    (local $i i32) (local $vs v128)
    (local.set $vs (f64x2.splat (local.get $s)))
    (local.set $i (local.get $from))
    (block $done
      (loop $pairs
        (br_if $done (i32.gt_s (i32.add (local.get $i) (i32.const 2)) (local.get $to)))
        (v128.store (i32.add (local.get $col) (i32.shl (local.get $i) (i32.const 3)))
          (f64x2.mul (v128.load (i32.add (local.get $col) (i32.shl (local.get $i) (i32.const 3)))) (local.get $vs)))
        (local.set $i (i32.add (local.get $i) (i32.const 2)))
        (br $pairs)))
    (if (i32.lt_s (local.get $i) (local.get $to))
      (then (f64.store (i32.add (local.get $col) (i32.shl (local.get $i) (i32.const 3)))
              (f64.mul (f64.load (i32.add (local.get $col) (i32.shl (local.get $i) (i32.const 3)))) (local.get $s))))))

  ;; dst[i] -= src[i] a for rows i in [from, to)
  (func $subtractMultiple (param $dst i32) (param $src i32) (param $a f64) (param $from i32) (param $to i32)
    (local $i i32) (local $va v128)
    (local.set $va (f64x2.splat (local.get $a)))
    (local.set $i (local.get $from))
    (block $done
      (loop $pairs
        (br_if $done (i32.gt_s (i32.add (local.get $i) (i32.const 2)) (local.get $to)))
        (v128.store (i32.add (local.get $dst) (i32.shl (local.get $i) (i32.const 3)))
          (f64x2.sub (v128.load (i32.add (local.get $dst) (i32.shl (local.get $i) (i32.const 3))))
            (f64x2.mul (v128.load (i32.add (local.get $src) (i32.shl (local.get $i) (i32.const 3)))) (local.get $va))))
        (local.set $i (i32.add (local.get $i) (i32.const 2)))
        (br $pairs)))
    (if (i32.lt_s (local.get $i) (local.get $to))
      (then (f64.store (i32.add (local.get $dst) (i32.shl (local.get $i) (i32.const 3)))
              (f64.sub (f64.load (i32.add (local.get $dst) (i32.shl (local.get $i) (i32.const 3))))
                (f64.mul (f64.load (i32.add (local.get $src) (i32.shl (local.get $i) (i32.const 3)))) (local.get $a)))))))

  ;; In place, the lower Cholesky factor of the w x w diagonal block of the panel at b (column
  ;; stride 8 h), column by column (dense.ts's factorPanel on a compact block). Returns 0 if a
  ;; pivot is not positive. The rows below are `panelRows`' work.
  (func (export "panel") (param $b i32) (param $h i32) (param $w i32) (result i32)
    (local $k i32) (local $j i32) (local $hb i32) (local $ck i32) (local $d f64) (local $ljk f64)
    (local.set $hb (i32.shl (local.get $h) (i32.const 3)))
    (block $kdone
      (loop $kloop
        (br_if $kdone (i32.ge_s (local.get $k) (local.get $w)))
        (local.set $ck (i32.add (local.get $b) (i32.mul (local.get $k) (local.get $hb))))
        (local.set $d (f64.load (i32.add (local.get $ck) (i32.shl (local.get $k) (i32.const 3)))))
        (if (i32.eqz (f64.gt (local.get $d) (f64.const 0))) (then (return (i32.const 0))))
        (local.set $d (f64.sqrt (local.get $d)))
        (f64.store (i32.add (local.get $ck) (i32.shl (local.get $k) (i32.const 3))) (local.get $d))
        (call $scaleRows (local.get $ck) (f64.div (f64.const 1) (local.get $d)) (i32.add (local.get $k) (i32.const 1)) (local.get $w))
        ;; the later columns minus their multiple of column k, from their diagonal down
        (local.set $j (i32.add (local.get $k) (i32.const 1)))
        (block $jdone
          (loop $jloop
            (br_if $jdone (i32.ge_s (local.get $j) (local.get $w)))
            (local.set $ljk (f64.load (i32.add (local.get $ck) (i32.shl (local.get $j) (i32.const 3)))))
            (if (f64.ne (local.get $ljk) (f64.const 0))
              (then (call $subtractMultiple (i32.add (local.get $b) (i32.mul (local.get $j) (local.get $hb))) (local.get $ck) (local.get $ljk)
                      (local.get $j) (local.get $w))))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $jloop)))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $kloop)))
    (i32.const 1))

  ;; After `panel`: rows [from, to) (all >= w) of the panel at b (column stride 8 h) times the
  ;; inverse of the transposed diagonal block, column by column as `panel` would have done them.
  ;; Rows are independent: threads can take ranges of them.
  (func (export "panelRows") (param $b i32) (param $h i32) (param $w i32) (param $from i32) (param $to i32)
    (local $k i32) (local $j i32) (local $hb i32) (local $ck i32) (local $ljk f64)
    (local.set $hb (i32.shl (local.get $h) (i32.const 3)))
    (block $kdone
      (loop $kloop
        (br_if $kdone (i32.ge_s (local.get $k) (local.get $w)))
        (local.set $ck (i32.add (local.get $b) (i32.mul (local.get $k) (local.get $hb))))
        (call $scaleRows (local.get $ck) (f64.div (f64.const 1) (f64.load (i32.add (local.get $ck) (i32.shl (local.get $k) (i32.const 3)))))
          (local.get $from) (local.get $to))
        (local.set $j (i32.add (local.get $k) (i32.const 1)))
        (block $jdone
          (loop $jloop
            (br_if $jdone (i32.ge_s (local.get $j) (local.get $w)))
            (local.set $ljk (f64.load (i32.add (local.get $ck) (i32.shl (local.get $j) (i32.const 3)))))
            (if (f64.ne (local.get $ljk) (f64.const 0))
              (then (call $subtractMultiple (i32.add (local.get $b) (i32.mul (local.get $j) (local.get $hb))) (local.get $ck) (local.get $ljk)
                      (local.get $from) (local.get $to))))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $jloop)))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $kloop))))

  ;; Y <- Y L^{-1} for Y at y (rows rows, an even number; w columns 8 rp apart) and the w x w
  ;; lower triangular L at l (column stride 8 w): the last column first, pairs of rows. Rows are
  ;; independent: threads can take ranges of them.
  (func (export "trsm") (param $y i32) (param $rp i32) (param $rows i32) (param $l i32) (param $w i32)
    (local $c i32) (local $c2 i32) (local $q i32) (local $rb i32) (local $nb i32) (local $yc i32) (local $y2 i32)
    (local $t f64) (local $vt v128)
    (local.set $rb (i32.shl (local.get $rp) (i32.const 3)))
    (local.set $nb (i32.shl (local.get $rows) (i32.const 3)))
    (local.set $c (i32.sub (local.get $w) (i32.const 1)))
    (block $cdone
      (loop $cloop
        (br_if $cdone (i32.lt_s (local.get $c) (i32.const 0)))
        (local.set $yc (i32.add (local.get $y) (i32.mul (local.get $c) (local.get $rb))))
        (local.set $c2 (i32.add (local.get $c) (i32.const 1)))
        (block $c2done
          (loop $c2loop
            (br_if $c2done (i32.ge_s (local.get $c2) (local.get $w)))
            ;; L[c2, c]
            (local.set $t (f64.load (i32.add (local.get $l) (i32.shl (i32.add (local.get $c2) (i32.mul (local.get $c) (local.get $w))) (i32.const 3)))))
            (if (f64.ne (local.get $t) (f64.const 0))
              (then
                (local.set $vt (f64x2.splat (local.get $t)))
                (local.set $y2 (i32.add (local.get $y) (i32.mul (local.get $c2) (local.get $rb))))
                (local.set $q (i32.const 0))
                (block $qdone
                  (loop $qloop
                    (br_if $qdone (i32.ge_s (local.get $q) (local.get $nb)))
                    (v128.store (i32.add (local.get $yc) (local.get $q))
                      (f64x2.sub (v128.load (i32.add (local.get $yc) (local.get $q)))
                        (f64x2.mul (v128.load (i32.add (local.get $y2) (local.get $q))) (local.get $vt))))
                    (local.set $q (i32.add (local.get $q) (i32.const 16)))
                    (br $qloop)))))
            (local.set $c2 (i32.add (local.get $c2) (i32.const 1)))
            (br $c2loop)))
        (local.set $vt (f64x2.splat (f64.div (f64.const 1)
          (f64.load (i32.add (local.get $l) (i32.shl (i32.mul (local.get $c) (i32.add (local.get $w) (i32.const 1))) (i32.const 3)))))))
        (local.set $q (i32.const 0))
        (block $sdone
          (loop $sloop
            (br_if $sdone (i32.ge_s (local.get $q) (local.get $nb)))
            (v128.store (i32.add (local.get $yc) (local.get $q)) (f64x2.mul (v128.load (i32.add (local.get $yc) (local.get $q))) (local.get $vt)))
            (local.set $q (i32.add (local.get $q) (i32.const 16)))
            (br $sloop)))
        (local.set $c (i32.sub (local.get $c) (i32.const 1)))
        (br $cloop))))

  ;; C[a, b] -= sum_q X[q, a] Y[q, b] for b <= a < w: C at c (w x w, column stride 8 w), X at x
  ;; and Y at y (rp rows, rp even, columns 8 rp apart, each with a spare column w that is read
  ;; but never lands in C). Two columns of X by two of Y per pass: four independent dot products
  ;; down pairs of rows, each load serving two multiply-adds.
  (func (export "crossprod") (param $c i32) (param $x i32) (param $y i32) (param $rp i32) (param $w i32)
    (local $a i32) (local $b i32) (local $q i32) (local $rb i32) (local $xa i32) (local $xe i32) (local $yb i32) (local $yc i32) (local $at i32)
    (local $x0 v128) (local $x1 v128) (local $y0 v128) (local $y1 v128)
    (local $s00 v128) (local $s10 v128) (local $s01 v128) (local $s11 v128)
    (local.set $rb (i32.shl (local.get $rp) (i32.const 3)))
    (block $bdone
      (loop $bloop
        (br_if $bdone (i32.ge_s (local.get $b) (local.get $w)))
        (local.set $yb (i32.add (local.get $y) (i32.mul (local.get $b) (local.get $rb))))
        (local.set $yc (i32.add (local.get $yb) (local.get $rb)))
        (local.set $a (local.get $b))
        (block $adone
          (loop $aloop
            (br_if $adone (i32.ge_s (local.get $a) (local.get $w)))
            (local.set $xa (i32.add (local.get $x) (i32.mul (local.get $a) (local.get $rb))))
            (local.set $xe (i32.add (local.get $xa) (local.get $rb)))
            (local.set $s00 (v128.const i64x2 0 0))
            (local.set $s10 (v128.const i64x2 0 0))
            (local.set $s01 (v128.const i64x2 0 0))
            (local.set $s11 (v128.const i64x2 0 0))
            (local.set $q (i32.const 0))
            (block $qdone
              (loop $qloop
                (br_if $qdone (i32.ge_s (local.get $q) (local.get $rb)))
                (local.set $x0 (v128.load (i32.add (local.get $xa) (local.get $q))))
                (local.set $x1 (v128.load (i32.add (local.get $xe) (local.get $q))))
                (local.set $y0 (v128.load (i32.add (local.get $yb) (local.get $q))))
                (local.set $y1 (v128.load (i32.add (local.get $yc) (local.get $q))))
                (local.set $s00 (f64x2.add (local.get $s00) (f64x2.mul (local.get $x0) (local.get $y0))))
                (local.set $s10 (f64x2.add (local.get $s10) (f64x2.mul (local.get $x1) (local.get $y0))))
                (local.set $s01 (f64x2.add (local.get $s01) (f64x2.mul (local.get $x0) (local.get $y1))))
                (local.set $s11 (f64x2.add (local.get $s11) (f64x2.mul (local.get $x1) (local.get $y1))))
                (local.set $q (i32.add (local.get $q) (i32.const 16)))
                (br $qloop)))
            ;; C[a, b], then C[a + 1, b], C[a, b + 1] and C[a + 1, b + 1] where in the lower triangle of C
            (local.set $at (i32.add (local.get $c) (i32.shl (i32.add (local.get $a) (i32.mul (local.get $b) (local.get $w))) (i32.const 3))))
            (f64.store (local.get $at) (f64.sub (f64.load (local.get $at))
              (f64.add (f64x2.extract_lane 0 (local.get $s00)) (f64x2.extract_lane 1 (local.get $s00)))))
            (if (i32.lt_s (i32.add (local.get $a) (i32.const 1)) (local.get $w))
              (then (f64.store offset=8 (local.get $at) (f64.sub (f64.load offset=8 (local.get $at))
                (f64.add (f64x2.extract_lane 0 (local.get $s10)) (f64x2.extract_lane 1 (local.get $s10)))))))
            (if (i32.lt_s (i32.add (local.get $b) (i32.const 1)) (local.get $w))
              (then
                (local.set $at (i32.add (local.get $at) (i32.shl (local.get $w) (i32.const 3))))
                (if (i32.gt_s (local.get $a) (local.get $b))
                  (then (f64.store (local.get $at) (f64.sub (f64.load (local.get $at))
                    (f64.add (f64x2.extract_lane 0 (local.get $s01)) (f64x2.extract_lane 1 (local.get $s01)))))))
                (if (i32.lt_s (i32.add (local.get $a) (i32.const 1)) (local.get $w))
                  (then (f64.store offset=8 (local.get $at) (f64.sub (f64.load offset=8 (local.get $at))
                    (f64.add (f64x2.extract_lane 0 (local.get $s11)) (f64x2.extract_lane 1 (local.get $s11)))))))))
            (local.set $a (i32.add (local.get $a) (i32.const 2)))
            (br $aloop)))
        (local.set $b (i32.add (local.get $b) (i32.const 2)))
        (br $bloop))))

  ;; Moving a column's rows named by an index list (int32 row numbers at idx) between a sparse
  ;; matrix's dense storage (column at col) and a compact buffer (at buf): the gathers and
  ;; scatters around every dense kernel, a few times faster here than in JavaScript.
  ;; buf[q] = col[idx[q]] for q < count
  (func (export "gather") (param $buf i32) (param $col i32) (param $idx i32) (param $count i32)
    (local $end i32)
    (local.set $end (i32.add (local.get $idx) (i32.shl (local.get $count) (i32.const 2))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $idx) (local.get $end)))
        (f64.store (local.get $buf) (f64.load (i32.add (local.get $col) (i32.shl (i32.load (local.get $idx)) (i32.const 3)))))
        (local.set $idx (i32.add (local.get $idx) (i32.const 4)))
        (local.set $buf (i32.add (local.get $buf) (i32.const 8)))
        (br $next))))

  ;; col[idx[q]] = buf[q] for q < count
  (func (export "scatter") (param $col i32) (param $buf i32) (param $idx i32) (param $count i32)
    (local $end i32)
    (local.set $end (i32.add (local.get $idx) (i32.shl (local.get $count) (i32.const 2))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $idx) (local.get $end)))
        (f64.store (i32.add (local.get $col) (i32.shl (i32.load (local.get $idx)) (i32.const 3))) (f64.load (local.get $buf)))
        (local.set $idx (i32.add (local.get $idx) (i32.const 4)))
        (local.set $buf (i32.add (local.get $buf) (i32.const 8)))
        (br $next))))

  ;; col[idx[q]] -= buf[q] for q < count
  (func (export "scatterSubtract") (param $col i32) (param $buf i32) (param $idx i32) (param $count i32)
    (local $end i32) (local $at i32)
    (local.set $end (i32.add (local.get $idx) (i32.shl (local.get $count) (i32.const 2))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $idx) (local.get $end)))
        (local.set $at (i32.add (local.get $col) (i32.shl (i32.load (local.get $idx)) (i32.const 3))))
        (f64.store (local.get $at) (f64.sub (f64.load (local.get $at)) (f64.load (local.get $buf))))
        (local.set $idx (i32.add (local.get $idx) (i32.const 4)))
        (local.set $buf (i32.add (local.get $buf) (i32.const 8)))
        (br $next))))

  ;; The transpose of w compact columns (at buf, rp rows apart) into columns idx[q] of a matrix
  ;; (row 0 at m, column stride ldb bytes): m[b, idx[q]] = buf[q, b] for q < count, b < w.
  (func (export "scatterTransposed") (param $m i32) (param $ldb i32) (param $buf i32) (param $rp i32) (param $idx i32) (param $count i32) (param $w i32)
    (local $end i32) (local $to i32) (local $src i32) (local $last i32) (local $rb i32)
    (local.set $rb (i32.shl (local.get $rp) (i32.const 3)))
    (local.set $end (i32.add (local.get $idx) (i32.shl (local.get $count) (i32.const 2))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $idx) (local.get $end)))
        (local.set $to (i32.add (local.get $m) (i32.mul (i32.load (local.get $idx)) (local.get $ldb))))
        (local.set $last (i32.add (local.get $to) (i32.shl (local.get $w) (i32.const 3))))
        (local.set $src (local.get $buf))
        (block $bdone
          (loop $bloop
            (br_if $bdone (i32.ge_u (local.get $to) (local.get $last)))
            (f64.store (local.get $to) (f64.load (local.get $src)))
            (local.set $to (i32.add (local.get $to) (i32.const 8)))
            (local.set $src (i32.add (local.get $src) (local.get $rb)))
            (br $bloop)))
        (local.set $idx (i32.add (local.get $idx) (i32.const 4)))
        (local.set $buf (i32.add (local.get $buf) (i32.const 8)))
        (br $next))))

  ;; The rank updates of a first term's levels (cliques.ts): idx (int32 rows of each level's
  ;; positions), colStart (m + 1 int32s), colQ and colEnd (int32 per entry) and w (k doubles per
  ;; position) are the CSC view of the pairs of positions that share a level.

  ;; T[idx[qr], j] -= w_qr . w_qs for columns j in [jFrom, jTo) of the m x m target at t, each
  ;; entry e of column j (qs = colQ[e]) and qr in [qs, colEnd[e]).
  (func (export "cliqueProducts") (param $t i32) (param $m i32) (param $idx i32) (param $colStart i32) (param $colQ i32)
        (param $colEnd i32) (param $w i32) (param $k i32) (param $jFrom i32) (param $jTo i32)
    (local $j i32) (local $cj i32) (local $e i32) (local $eEnd i32) (local $qs i32) (local $qr i32) (local $end i32)
    (local $b i32) (local $kb i32) (local $ws f64) (local $s f64) (local $at i32) (local $pr i32) (local $ps i32)
    (local.set $kb (i32.shl (local.get $k) (i32.const 3)))
    (local.set $j (local.get $jFrom))
    (block $jdone
      (loop $jloop
        (br_if $jdone (i32.ge_s (local.get $j) (local.get $jTo)))
        (local.set $cj (i32.add (local.get $t) (i32.shl (i32.mul (local.get $j) (local.get $m)) (i32.const 3))))
        (local.set $e (i32.load (i32.add (local.get $colStart) (i32.shl (local.get $j) (i32.const 2)))))
        (local.set $eEnd (i32.load offset=4 (i32.add (local.get $colStart) (i32.shl (local.get $j) (i32.const 2)))))
        (block $edone
          (loop $eloop
            (br_if $edone (i32.ge_s (local.get $e) (local.get $eEnd)))
            (local.set $qs (i32.load (i32.add (local.get $colQ) (i32.shl (local.get $e) (i32.const 2)))))
            (local.set $end (i32.load (i32.add (local.get $colEnd) (i32.shl (local.get $e) (i32.const 2)))))
            (local.set $qr (local.get $qs))
            (if (i32.eq (local.get $k) (i32.const 1))
              (then
                ;; a scalar term (crossed designs): one product per pair
                (local.set $ws (f64.load (i32.add (local.get $w) (i32.shl (local.get $qs) (i32.const 3)))))
                (block $rdone
                  (loop $rloop
                    (br_if $rdone (i32.ge_s (local.get $qr) (local.get $end)))
                    (local.set $at (i32.add (local.get $cj) (i32.shl (i32.load (i32.add (local.get $idx) (i32.shl (local.get $qr) (i32.const 2)))) (i32.const 3))))
                    (f64.store (local.get $at) (f64.sub (f64.load (local.get $at))
                      (f64.mul (f64.load (i32.add (local.get $w) (i32.shl (local.get $qr) (i32.const 3)))) (local.get $ws))))
                    (local.set $qr (i32.add (local.get $qr) (i32.const 1)))
                    (br $rloop))))
              (else
                (local.set $ps (i32.add (local.get $w) (i32.mul (local.get $qs) (local.get $kb))))
                (block $rdone
                  (loop $rloop
                    (br_if $rdone (i32.ge_s (local.get $qr) (local.get $end)))
                    (local.set $pr (i32.add (local.get $w) (i32.mul (local.get $qr) (local.get $kb))))
                    (local.set $s (f64.const 0))
                    (local.set $b (i32.const 0))
                    (block $bdone
                      (loop $bloop
                        (br_if $bdone (i32.ge_s (local.get $b) (local.get $kb)))
                        (local.set $s (f64.add (local.get $s)
                          (f64.mul (f64.load (i32.add (local.get $pr) (local.get $b))) (f64.load (i32.add (local.get $ps) (local.get $b))))))
                        (local.set $b (i32.add (local.get $b) (i32.const 8)))
                        (br $bloop)))
                    (local.set $at (i32.add (local.get $cj) (i32.shl (i32.load (i32.add (local.get $idx) (i32.shl (local.get $qr) (i32.const 2)))) (i32.const 3))))
                    (f64.store (local.get $at) (f64.sub (f64.load (local.get $at)) (local.get $s)))
                    (local.set $qr (i32.add (local.get $qr) (i32.const 1)))
                    (br $rloop)))))
            (local.set $e (i32.add (local.get $e) (i32.const 1)))
            (br $eloop)))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $jloop))))

  ;; out (k x k, at o) -= over the pairs of positions qs <= qr of a level whose rows lie below
  ;; `include`, with the upper row idx[qs] a column j in [jFrom, jTo) of the symmetric m x m G
  ;; at g: G[idx[qr], j] (w_qr w_qs' + w_qs w_qr', once for qr = qs).
  (func (export "cliqueTrace") (param $g i32) (param $m i32) (param $include i32) (param $idx i32) (param $colStart i32)
        (param $colQ i32) (param $colEnd i32) (param $w i32) (param $k i32) (param $jFrom i32) (param $jTo i32) (param $o i32)
    (local $j i32) (local $jEnd i32) (local $cj i32) (local $e i32) (local $eEnd i32) (local $qs i32) (local $qr i32) (local $end i32)
    (local $row i32) (local $a i32) (local $b i32) (local $kb i32) (local $ws f64) (local $sum f64) (local $gv f64) (local $pair f64)
    (local $pr i32) (local $ps i32) (local $at i32)
    (local.set $kb (i32.shl (local.get $k) (i32.const 3)))
    (local.set $jEnd (select (local.get $jTo) (local.get $include) (i32.lt_s (local.get $jTo) (local.get $include))))
    (local.set $j (local.get $jFrom))
    (block $jdone
      (loop $jloop
        (br_if $jdone (i32.ge_s (local.get $j) (local.get $jEnd)))
        (local.set $cj (i32.add (local.get $g) (i32.shl (i32.mul (local.get $j) (local.get $m)) (i32.const 3))))
        (local.set $e (i32.load (i32.add (local.get $colStart) (i32.shl (local.get $j) (i32.const 2)))))
        (local.set $eEnd (i32.load offset=4 (i32.add (local.get $colStart) (i32.shl (local.get $j) (i32.const 2)))))
        (block $edone
          (loop $eloop
            (br_if $edone (i32.ge_s (local.get $e) (local.get $eEnd)))
            (local.set $qs (i32.load (i32.add (local.get $colQ) (i32.shl (local.get $e) (i32.const 2)))))
            (local.set $end (i32.load (i32.add (local.get $colEnd) (i32.shl (local.get $e) (i32.const 2)))))
            (if (i32.eq (local.get $k) (i32.const 1))
              (then
                (local.set $ws (f64.load (i32.add (local.get $w) (i32.shl (local.get $qs) (i32.const 3)))))
                (local.set $sum (f64.mul (f64.load (i32.add (local.get $cj) (i32.shl (local.get $j) (i32.const 3)))) (local.get $ws)))
                (local.set $qr (i32.add (local.get $qs) (i32.const 1)))
                (block $rdone
                  (loop $rloop
                    (br_if $rdone (i32.ge_s (local.get $qr) (local.get $end)))
                    (local.set $row (i32.load (i32.add (local.get $idx) (i32.shl (local.get $qr) (i32.const 2)))))
                    (br_if $rdone (i32.ge_s (local.get $row) (local.get $include)))
                    (local.set $sum (f64.add (local.get $sum)
                      (f64.mul (f64.mul (f64.const 2) (f64.load (i32.add (local.get $cj) (i32.shl (local.get $row) (i32.const 3)))))
                        (f64.load (i32.add (local.get $w) (i32.shl (local.get $qr) (i32.const 3)))))))
                    (local.set $qr (i32.add (local.get $qr) (i32.const 1)))
                    (br $rloop)))
                (f64.store (local.get $o) (f64.sub (f64.load (local.get $o)) (f64.mul (local.get $sum) (local.get $ws)))))
              (else
                (local.set $ps (i32.add (local.get $w) (i32.mul (local.get $qs) (local.get $kb))))
                (local.set $qr (local.get $qs))
                (block $rdone
                  (loop $rloop
                    (br_if $rdone (i32.ge_s (local.get $qr) (local.get $end)))
                    (local.set $row (i32.load (i32.add (local.get $idx) (i32.shl (local.get $qr) (i32.const 2)))))
                    (br_if $rdone (i32.ge_s (local.get $row) (local.get $include)))
                    (local.set $gv (f64.load (i32.add (local.get $cj) (i32.shl (local.get $row) (i32.const 3)))))
                    (local.set $pr (i32.add (local.get $w) (i32.mul (local.get $qr) (local.get $kb))))
                    (local.set $b (i32.const 0))
                    (block $bdone
                      (loop $bloop
                        (br_if $bdone (i32.ge_s (local.get $b) (local.get $kb)))
                        (local.set $a (i32.const 0))
                        (block $adone
                          (loop $aloop
                            (br_if $adone (i32.ge_s (local.get $a) (local.get $kb)))
                            (local.set $pair (f64.mul (f64.load (i32.add (local.get $pr) (local.get $a))) (f64.load (i32.add (local.get $ps) (local.get $b)))))
                            (if (i32.ne (local.get $qr) (local.get $qs))
                              (then (local.set $pair (f64.add (local.get $pair)
                                (f64.mul (f64.load (i32.add (local.get $ps) (local.get $a))) (f64.load (i32.add (local.get $pr) (local.get $b))))))))
                            ;; out[a + b k] at o + a + b k (bytes: a, b are 8 a, 8 b)
                            (local.set $at (i32.add (local.get $o) (i32.add (local.get $a) (i32.mul (local.get $b) (local.get $k)))))
                            (f64.store (local.get $at) (f64.sub (f64.load (local.get $at)) (f64.mul (local.get $gv) (local.get $pair))))
                            (local.set $a (i32.add (local.get $a) (i32.const 8)))
                            (br $aloop)))
                        (local.set $b (i32.add (local.get $b) (i32.const 8)))
                        (br $bloop)))
                    (local.set $qr (i32.add (local.get $qr) (i32.const 1)))
                    (br $rloop)))))
            (local.set $e (i32.add (local.get $e) (i32.const 1)))
            (br $eloop)))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $jloop))))

  ;; Row-major products over a block of responses (the whole-brain engine's: one column per
  ;; voxel, wb of them, a multiple of 4, rows 8 wb bytes apart).

  ;; C[i, v] += sum_q A[q, i] B[q, v] for q < m, i < wa (a multiple of 4, A's rows 8 wa bytes
  ;; apart) and v < wb; C's rows are 8 wb bytes apart. A 4 x 4 tile of C stays in registers
  ;; down 128 rows of A and B at a time (a strip of B then serves every tile from the
  ;; first-level cache): each pair of loads of B serves eight multiply-adds.
  (func (export "crossprodRows") (param $c i32) (param $a i32) (param $wa i32) (param $b i32) (param $wb i32) (param $m i32)
    (local $q0 i32) (local $rows i32) (local $vb i32) (local $i i32) (local $rb i32) (local $ab i32)
    (local $ct i32) (local $ap i32) (local $bp i32) (local $bend i32) (local $s v128) (local $b0 v128) (local $b1 v128)
    (local $c00 v128) (local $c01 v128) (local $c10 v128) (local $c11 v128)
    (local $c20 v128) (local $c21 v128) (local $c30 v128) (local $c31 v128)
    (local.set $rb (i32.shl (local.get $wb) (i32.const 3)))
    (local.set $ab (i32.shl (local.get $wa) (i32.const 3)))
    (block $chunksDone
      (loop $chunks
        (br_if $chunksDone (i32.ge_s (local.get $q0) (local.get $m)))
        (local.set $rows (i32.sub (local.get $m) (local.get $q0)))
        (if (i32.gt_s (local.get $rows) (i32.const 128)) (then (local.set $rows (i32.const 128))))
        (local.set $vb (i32.const 0))
        (block $vdone
          (loop $vloop
            (br_if $vdone (i32.ge_s (local.get $vb) (local.get $rb)))
            (local.set $i (i32.const 0))
            (block $idone
              (loop $iloop
                (br_if $idone (i32.ge_s (local.get $i) (local.get $wa)))
                ;; the tile: C rows i .. i + 3, columns vb / 8 .. vb / 8 + 3
                (local.set $ct (i32.add (i32.add (local.get $c) (i32.mul (local.get $i) (local.get $rb))) (local.get $vb)))
                (local.set $c00 (v128.load (local.get $ct)))
                (local.set $c01 (v128.load offset=16 (local.get $ct)))
                (local.set $c10 (v128.load (i32.add (local.get $ct) (local.get $rb))))
                (local.set $c11 (v128.load offset=16 (i32.add (local.get $ct) (local.get $rb))))
                (local.set $c20 (v128.load (i32.add (local.get $ct) (i32.shl (local.get $rb) (i32.const 1)))))
                (local.set $c21 (v128.load offset=16 (i32.add (local.get $ct) (i32.shl (local.get $rb) (i32.const 1)))))
                (local.set $c30 (v128.load (i32.add (local.get $ct) (i32.mul (local.get $rb) (i32.const 3)))))
                (local.set $c31 (v128.load offset=16 (i32.add (local.get $ct) (i32.mul (local.get $rb) (i32.const 3)))))
                (local.set $ap (i32.add (i32.add (local.get $a) (i32.mul (local.get $q0) (local.get $ab))) (i32.shl (local.get $i) (i32.const 3))))
                (local.set $bp (i32.add (i32.add (local.get $b) (i32.mul (local.get $q0) (local.get $rb))) (local.get $vb)))
                (local.set $bend (i32.add (local.get $bp) (i32.mul (local.get $rows) (local.get $rb))))
                (block $qdone
                  (loop $qloop
                    (br_if $qdone (i32.ge_u (local.get $bp) (local.get $bend)))
                    (local.set $b0 (v128.load (local.get $bp)))
                    (local.set $b1 (v128.load offset=16 (local.get $bp)))
                    (local.set $s (v128.load64_splat (local.get $ap)))
                    (local.set $c00 (f64x2.add (local.get $c00) (f64x2.mul (local.get $s) (local.get $b0))))
                    (local.set $c01 (f64x2.add (local.get $c01) (f64x2.mul (local.get $s) (local.get $b1))))
                    (local.set $s (v128.load64_splat offset=8 (local.get $ap)))
                    (local.set $c10 (f64x2.add (local.get $c10) (f64x2.mul (local.get $s) (local.get $b0))))
                    (local.set $c11 (f64x2.add (local.get $c11) (f64x2.mul (local.get $s) (local.get $b1))))
                    (local.set $s (v128.load64_splat offset=16 (local.get $ap)))
                    (local.set $c20 (f64x2.add (local.get $c20) (f64x2.mul (local.get $s) (local.get $b0))))
                    (local.set $c21 (f64x2.add (local.get $c21) (f64x2.mul (local.get $s) (local.get $b1))))
                    (local.set $s (v128.load64_splat offset=24 (local.get $ap)))
                    (local.set $c30 (f64x2.add (local.get $c30) (f64x2.mul (local.get $s) (local.get $b0))))
                    (local.set $c31 (f64x2.add (local.get $c31) (f64x2.mul (local.get $s) (local.get $b1))))
                    (local.set $ap (i32.add (local.get $ap) (local.get $ab)))
                    (local.set $bp (i32.add (local.get $bp) (local.get $rb)))
                    (br $qloop)))
                (v128.store (local.get $ct) (local.get $c00))
                (v128.store offset=16 (local.get $ct) (local.get $c01))
                (v128.store (i32.add (local.get $ct) (local.get $rb)) (local.get $c10))
                (v128.store offset=16 (i32.add (local.get $ct) (local.get $rb)) (local.get $c11))
                (v128.store (i32.add (local.get $ct) (i32.shl (local.get $rb) (i32.const 1))) (local.get $c20))
                (v128.store offset=16 (i32.add (local.get $ct) (i32.shl (local.get $rb) (i32.const 1))) (local.get $c21))
                (v128.store (i32.add (local.get $ct) (i32.mul (local.get $rb) (i32.const 3))) (local.get $c30))
                (v128.store offset=16 (i32.add (local.get $ct) (i32.mul (local.get $rb) (i32.const 3))) (local.get $c31))
                (local.set $i (i32.add (local.get $i) (i32.const 4)))
                (br $iloop)))
            (local.set $vb (i32.add (local.get $vb) (i32.const 32)))
            (br $vloop)))
        (local.set $q0 (i32.add (local.get $q0) (local.get $rows)))
        (br $chunks))))

  ;; out[v] += sum_q B[q, v]^2 for q < m and v < wb (even)
  (func (export "sumSquaresRows") (param $out i32) (param $b i32) (param $wb i32) (param $m i32)
    (local $end i32) (local $rb i32) (local $o i32) (local $x v128)
    (local.set $rb (i32.shl (local.get $wb) (i32.const 3)))
    (local.set $end (i32.add (local.get $b) (i32.mul (local.get $m) (local.get $rb))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $b) (local.get $end)))
        (local.set $o (i32.const 0))
        (block $vdone
          (loop $vloop
            (br_if $vdone (i32.ge_s (local.get $o) (local.get $rb)))
            (local.set $x (v128.load (i32.add (local.get $b) (local.get $o))))
            (v128.store (i32.add (local.get $out) (local.get $o))
              (f64x2.add (v128.load (i32.add (local.get $out) (local.get $o))) (f64x2.mul (local.get $x) (local.get $x))))
            (local.set $o (i32.add (local.get $o) (i32.const 16)))
            (br $vloop)))
        (local.set $b (i32.add (local.get $b) (local.get $rb)))
        (br $next))))

  ;; D[idx[q], v] += w[q] B[q, v] for q < m and v < wb (even): Z'B of a random-effects term's
  ;; entry (row q's level, or its level's entry, at idx[q]; its z at w, doubles)
  (func (export "scatterRows") (param $d i32) (param $b i32) (param $wb i32) (param $idx i32) (param $w i32) (param $m i32)
    (local $end i32) (local $rb i32) (local $dr i32) (local $o i32) (local $s v128)
    (local.set $rb (i32.shl (local.get $wb) (i32.const 3)))
    (local.set $end (i32.add (local.get $idx) (i32.shl (local.get $m) (i32.const 2))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $idx) (local.get $end)))
        (local.set $dr (i32.add (local.get $d) (i32.mul (i32.load (local.get $idx)) (local.get $rb))))
        (local.set $s (f64x2.splat (f64.load (local.get $w))))
        (local.set $o (i32.const 0))
        (block $vdone
          (loop $vloop
            (br_if $vdone (i32.ge_s (local.get $o) (local.get $rb)))
            (v128.store (i32.add (local.get $dr) (local.get $o))
              (f64x2.add (v128.load (i32.add (local.get $dr) (local.get $o)))
                (f64x2.mul (local.get $s) (v128.load (i32.add (local.get $b) (local.get $o))))))
            (local.set $o (i32.add (local.get $o) (i32.const 16)))
            (br $vloop)))
        (local.set $b (i32.add (local.get $b) (local.get $rb)))
        (local.set $w (i32.add (local.get $w) (i32.const 8)))
        (local.set $idx (i32.add (local.get $idx) (i32.const 4)))
        (br $next))))

  ;; out[v q + e] = B[idx[e], v] for e < q and v < V (B's rows 8 wb bytes apart): rows of
  ;; entries to one column per response, four rows at a time (each response's four entries
  ;; are then stored together), then the rows left over one by one
  (func (export "transposeRows") (param $out i32) (param $q i32) (param $b i32) (param $wb i32) (param $idx i32) (param $V i32)
    (local $e i32) (local $rb i32) (local $qb i32) (local $col i32) (local $end i32)
    (local $r0 i32) (local $r1 i32) (local $r2 i32) (local $r3 i32)
    (local.set $rb (i32.shl (local.get $wb) (i32.const 3)))
    (local.set $qb (i32.shl (local.get $q) (i32.const 3)))
    (block $done
      (loop $tiles
        (br_if $done (i32.ge_s (local.get $e) (local.get $q)))
        (local.set $r0 (i32.add (local.get $b) (i32.mul (i32.load (i32.add (local.get $idx) (i32.shl (local.get $e) (i32.const 2)))) (local.get $rb))))
        (local.set $col (i32.add (local.get $out) (i32.shl (local.get $e) (i32.const 3))))
        (local.set $end (i32.add (local.get $r0) (i32.shl (local.get $V) (i32.const 3))))
        (if (i32.le_s (i32.add (local.get $e) (i32.const 4)) (local.get $q))
          (then
            (local.set $r1 (i32.add (local.get $b) (i32.mul (i32.load offset=4 (i32.add (local.get $idx) (i32.shl (local.get $e) (i32.const 2)))) (local.get $rb))))
            (local.set $r2 (i32.add (local.get $b) (i32.mul (i32.load offset=8 (i32.add (local.get $idx) (i32.shl (local.get $e) (i32.const 2)))) (local.get $rb))))
            (local.set $r3 (i32.add (local.get $b) (i32.mul (i32.load offset=12 (i32.add (local.get $idx) (i32.shl (local.get $e) (i32.const 2)))) (local.get $rb))))
            (block $vdone
              (loop $vloop
                (br_if $vdone (i32.ge_u (local.get $r0) (local.get $end)))
                (v128.store (local.get $col) (f64x2.replace_lane 1 (v128.load64_zero (local.get $r0)) (f64.load (local.get $r1))))
                (v128.store offset=16 (local.get $col) (f64x2.replace_lane 1 (v128.load64_zero (local.get $r2)) (f64.load (local.get $r3))))
                (local.set $r0 (i32.add (local.get $r0) (i32.const 8)))
                (local.set $r1 (i32.add (local.get $r1) (i32.const 8)))
                (local.set $r2 (i32.add (local.get $r2) (i32.const 8)))
                (local.set $r3 (i32.add (local.get $r3) (i32.const 8)))
                (local.set $col (i32.add (local.get $col) (local.get $qb)))
                (br $vloop)))
            (local.set $e (i32.add (local.get $e) (i32.const 4))))
          (else
            (block $sdone
              (loop $sloop
                (br_if $sdone (i32.ge_u (local.get $r0) (local.get $end)))
                (f64.store (local.get $col) (f64.load (local.get $r0)))
                (local.set $r0 (i32.add (local.get $r0) (i32.const 8)))
                (local.set $col (i32.add (local.get $col) (local.get $qb)))
                (br $sloop)))
            (local.set $e (i32.add (local.get $e) (i32.const 1)))))
        (br $tiles))))

  ;; `rows` rows of `width` floats at in (width a multiple of 4) to doubles at out, a missing value
  ;; (NaN; with zeroMissing also 0) as 0; per column j, the observed values' count, lowest and
  ;; highest accumulated at stats + j, stats + width + j and stats + 2 width + j
  (func (export "widenRows") (param $out i32) (param $in i32) (param $rows i32) (param $width i32) (param $stats i32) (param $zeroMissing i32)
    (local $wb i32) (local $s i32) (local $end i32) (local $rowEnd i32)
    (local $v v128) (local $m v128) (local $zm v128) (local $one v128) (local $inf v128) (local $ninf v128)
    (local.set $wb (i32.shl (local.get $width) (i32.const 3)))
    (local.set $zm (i64x2.splat (i64.extend_i32_s (i32.sub (i32.const 0) (local.get $zeroMissing)))))
    (local.set $one (f64x2.splat (f64.const 1)))
    (local.set $inf (f64x2.splat (f64.const inf)))
    (local.set $ninf (f64x2.splat (f64.const -inf)))
    (local.set $end (i32.add (local.get $in) (i32.shl (i32.mul (local.get $rows) (local.get $width)) (i32.const 2))))
    (block $done
      (loop $row
        (br_if $done (i32.ge_u (local.get $in) (local.get $end)))
        (local.set $rowEnd (i32.add (local.get $in) (i32.shl (local.get $width) (i32.const 2))))
        (local.set $s (local.get $stats))
        (block $rowDone
          (loop $pair
            (br_if $rowDone (i32.ge_u (local.get $in) (local.get $rowEnd)))
            (local.set $v (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $in))))
            ;; observed: not NaN (x == x), and not 0 where 0 is missing
            (local.set $m (v128.andnot (f64x2.eq (local.get $v) (local.get $v))
              (v128.and (local.get $zm) (f64x2.eq (local.get $v) (v128.const f64x2 0 0)))))
            (v128.store (local.get $out) (v128.and (local.get $v) (local.get $m)))
            (v128.store (local.get $s) (f64x2.add (v128.load (local.get $s)) (v128.and (local.get $one) (local.get $m))))
            (v128.store (i32.add (local.get $s) (local.get $wb))
              (f64x2.min (v128.load (i32.add (local.get $s) (local.get $wb))) (v128.bitselect (local.get $v) (local.get $inf) (local.get $m))))
            (v128.store (i32.add (local.get $s) (i32.shl (local.get $wb) (i32.const 1)))
              (f64x2.max (v128.load (i32.add (local.get $s) (i32.shl (local.get $wb) (i32.const 1)))) (v128.bitselect (local.get $v) (local.get $ninf) (local.get $m))))
            (local.set $in (i32.add (local.get $in) (i32.const 8)))
            (local.set $out (i32.add (local.get $out) (i32.const 16)))
            (local.set $s (i32.add (local.get $s) (i32.const 16)))
            (br $pair)))
        (br $row))))

  ;; Z = (L L')^{-1} for the n x n lower triangular L at l (column stride lsb bytes) into the full
  ;; symmetric Z at z (column stride zsb; not overlapping L), as dense.ts's inverseFromCholesky:
  ;; W = L^{-1} column by column into Z's lower triangle (each entry updated in the same order),
  ;; then Z[j, i] = sum_{k >= i} W[k, i] W[k, j] (i >= j) into the upper triangle and the diagonal,
  ;; each sum in the order of k (the same numbers), then mirrored.
  ;; W[j, j] is read last by the diagonal of column j, before it is overwritten.
  (func (export "inverse") (param $l i32) (param $lsb i32) (param $z i32) (param $zsb i32) (param $n i32)
    (local $j i32) (local $k i32) (local $i i32) (local $zj i32) (local $lk i32) (local $zi i32)
    (local $x f64) (local $vx v128) (local $s f64) (local $wkj f64) (local $nb i32) (local $q i32)
    (local.set $nb (i32.shl (local.get $n) (i32.const 3)))
    ;; W = L^{-1}
    (block $jdone
      (loop $jloop
        (br_if $jdone (i32.ge_s (local.get $j) (local.get $n)))
        (local.set $zj (i32.add (local.get $z) (i32.mul (local.get $j) (local.get $zsb))))
        (local.set $i (local.get $j))
        (block $zdone
          (loop $zloop
            (br_if $zdone (i32.ge_s (local.get $i) (local.get $n)))
            (f64.store (i32.add (local.get $zj) (i32.shl (local.get $i) (i32.const 3))) (f64.const 0))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $zloop)))
        (f64.store (i32.add (local.get $zj) (i32.shl (local.get $j) (i32.const 3))) (f64.const 1))
        (local.set $k (local.get $j))
        (block $kdone
          (loop $kloop
            (br_if $kdone (i32.ge_s (local.get $k) (local.get $n)))
            (local.set $lk (i32.add (local.get $l) (i32.mul (local.get $k) (local.get $lsb))))
            (local.set $x (f64.div (f64.load (i32.add (local.get $zj) (i32.shl (local.get $k) (i32.const 3))))
                                   (f64.load (i32.add (local.get $lk) (i32.shl (local.get $k) (i32.const 3))))))
            (f64.store (i32.add (local.get $zj) (i32.shl (local.get $k) (i32.const 3))) (local.get $x))
            (if (f64.ne (local.get $x) (f64.const 0))
              (then
                (local.set $vx (f64x2.splat (local.get $x)))
                (local.set $i (i32.add (local.get $k) (i32.const 1)))
                (block $pdone
                  (loop $pairs
                    (br_if $pdone (i32.gt_s (i32.add (local.get $i) (i32.const 2)) (local.get $n)))
                    (local.set $q (i32.shl (local.get $i) (i32.const 3)))
                    (v128.store (i32.add (local.get $zj) (local.get $q))
                      (f64x2.sub (v128.load (i32.add (local.get $zj) (local.get $q)))
                        (f64x2.mul (v128.load (i32.add (local.get $lk) (local.get $q))) (local.get $vx))))
                    (local.set $i (i32.add (local.get $i) (i32.const 2)))
                    (br $pairs)))
                (if (i32.lt_s (local.get $i) (local.get $n))
                  (then
                    (local.set $q (i32.shl (local.get $i) (i32.const 3)))
                    (f64.store (i32.add (local.get $zj) (local.get $q))
                      (f64.sub (f64.load (i32.add (local.get $zj) (local.get $q)))
                        (f64.mul (f64.load (i32.add (local.get $lk) (local.get $q))) (local.get $x))))))))
            (local.set $k (i32.add (local.get $k) (i32.const 1)))
            (br $kloop)))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $jloop)))
    ;; Z = W'W into the upper triangle and the diagonal: each sum in the order of k (the same
    ;; numbers as inverseFromCholesky), two i at a time sharing the loads of column j
    (local.set $j (i32.const 0))
    (block $j2done
      (loop $j2loop
        (br_if $j2done (i32.ge_s (local.get $j) (local.get $n)))
        (local.set $zj (i32.add (local.get $z) (i32.mul (local.get $j) (local.get $zsb))))
        (local.set $i (local.get $j))
        (block $idone
          (loop $iloop
            (br_if $idone (i32.ge_s (local.get $i) (local.get $n)))
            (local.set $zi (i32.add (local.get $z) (i32.mul (local.get $i) (local.get $zsb))))
            (local.set $q (i32.shl (local.get $i) (i32.const 3)))
            (local.set $s (f64.mul (f64.load (i32.add (local.get $zi) (local.get $q))) (f64.load (i32.add (local.get $zj) (local.get $q)))))
            (local.set $q (i32.add (local.get $q) (i32.const 8)))
            (if (i32.lt_s (i32.add (local.get $i) (i32.const 1)) (local.get $n))
              (then
                ;; column i + 1 beside column i: its sum starts at row i + 1
                (local.set $lk (i32.add (local.get $zi) (local.get $zsb)))
                (local.set $x (f64.const 0))
                (block $kdone2
                  (loop $kloop2
                    (br_if $kdone2 (i32.ge_s (local.get $q) (local.get $nb)))
                    (local.set $wkj (f64.load (i32.add (local.get $zj) (local.get $q))))
                    (local.set $s (f64.add (local.get $s) (f64.mul (f64.load (i32.add (local.get $zi) (local.get $q))) (local.get $wkj))))
                    (local.set $x (f64.add (local.get $x) (f64.mul (f64.load (i32.add (local.get $lk) (local.get $q))) (local.get $wkj))))
                    (local.set $q (i32.add (local.get $q) (i32.const 8)))
                    (br $kloop2)))
                (f64.store (i32.add (local.get $zi) (i32.shl (local.get $j) (i32.const 3))) (local.get $s))
                (f64.store (i32.add (local.get $lk) (i32.shl (local.get $j) (i32.const 3))) (local.get $x))
                (local.set $i (i32.add (local.get $i) (i32.const 2)))
                (br $iloop)))
            (f64.store (i32.add (local.get $zi) (i32.shl (local.get $j) (i32.const 3))) (local.get $s))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $iloop)))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $j2loop)))
    ;; the lower triangle from the upper
    (local.set $j (i32.const 0))
    (block $j3done
      (loop $j3loop
        (br_if $j3done (i32.ge_s (local.get $j) (local.get $n)))
        (local.set $zj (i32.add (local.get $z) (i32.mul (local.get $j) (local.get $zsb))))
        (local.set $i (i32.add (local.get $j) (i32.const 1)))
        (block $mdone
          (loop $mloop
            (br_if $mdone (i32.ge_s (local.get $i) (local.get $n)))
            (f64.store (i32.add (local.get $zj) (i32.shl (local.get $i) (i32.const 3)))
              (f64.load (i32.add (i32.add (local.get $z) (i32.mul (local.get $i) (local.get $zsb))) (i32.shl (local.get $j) (i32.const 3)))))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $mloop)))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $j3loop))))
)
