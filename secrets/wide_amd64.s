//go:build amd64 && !purego

#include "textflag.h"

// Both scans keep the class tables in registers: Y10/Y11, Y12/Y13 and
// Y14/Y15 are the low- and high-nibble tables of a trigram's first,
// second and third place, Y8/Y7 the digit class's, Y9 0x0f in every byte
// and Y6 zero. A byte indexes its low-nibble table as it is: VPSHUFB reads
// an index's low four bits only and gives zero where its top bit is set,
// as a byte past ASCII, in no class, gets from its high-nibble table
// anyway (one VPAND less a vector).
#define TABLES(tab) \
	VMOVDQU 0(tab), Y10; VMOVDQU 32(tab), Y11; \
	VMOVDQU 64(tab), Y12; VMOVDQU 96(tab), Y13; \
	VMOVDQU 128(tab), Y14; VMOVDQU 160(tab), Y15; \
	VMOVDQU 192(tab), Y8; VMOVDQU 224(tab), Y7; \
	VMOVDQU 256(tab), Y9; VPXOR Y6, Y6, Y6

// A run byte is a digit, or a separator (' ', '-') right after a digit:
// what digitRun counts through, so that 13 in a row are where a run of 13
// digits may be (13 bytes that are digits or separators were in one line
// of nine: klog's padded thread ids, any indentation). The digit class's tables
// give a digit 0x80 and a separator 0x40: a class byte's top bit says
// digit, and, doubled, separator.

// DIGITS sets r to the positions of the run bytes in V, but for its first
// byte, whose byte before it does not see (a byte each; zero bytes are
// none), clobbering Y3, Y4 and t.
#define DIGITS(V, r, t) \
	VPSRLW $4, V, Y3; VPAND Y9, Y3, Y3; \
	VPSHUFB V, Y8, Y4; VPSHUFB Y3, Y7, Y3; VPAND Y4, Y3, Y3; \
	VPMOVMSKB Y3, r; VPADDB Y3, Y3, Y3; VPMOVMSKB Y3, t; \
	SHRL $1, t; ANDL r, t; ADDL t, t; ORL t, r

// CLASSES takes in Y0, Y1 and Y2 the bytes at each position, the one
// before and the one before that (zero bytes are in no class), leaves in
// Y0 the classes the three share, a byte a position, and sets d to the
// positions of the run bytes, clobbering Y1 to Y5.
#define CLASSES(d) \
	VPSRLW $4, Y0, Y3; VPAND Y9, Y3, Y3; \
	VPSHUFB Y0, Y8, Y4; VPSHUFB Y3, Y7, Y5; VPAND Y5, Y4, Y4; \
	VPSHUFB Y0, Y14, Y0; VPSHUFB Y3, Y15, Y5; VPAND Y5, Y0, Y0; \
	VPSRLW $4, Y2, Y3; VPAND Y9, Y3, Y3; \
	VPSHUFB Y2, Y10, Y2; VPSHUFB Y3, Y11, Y3; VPAND Y2, Y3, Y3; VPAND Y3, Y0, Y0; \
	VPSRLW $4, Y1, Y3; VPAND Y9, Y3, Y3; \
	VPSHUFB Y1, Y12, Y2; VPSHUFB Y3, Y13, Y5; VPAND Y2, Y5, Y5; VPAND Y5, Y0, Y0; \
	VPSHUFB Y1, Y8, Y1; VPSHUFB Y3, Y7, Y3; VPAND Y1, Y3, Y3; \
	VPADDB Y4, Y4, Y5; VPAND Y3, Y5, Y5; VPOR Y4, Y5, Y5; VPMOVMSKB Y5, d

// RUN13 leaves in w the ones of w that start 13 in a row (ZF set when
// none), clobbering t, but for ones in the top 12 bits: it rotates
// rather than shifts (RORX: two instructions a step, not three), so
// there their 13 wrap to the bottom bits.
#define RUN13(w, t) \
	RORXQ $1, w, t; ANDQ t, w; \
	RORXQ $2, w, t; ANDQ t, w; \
	RORXQ $4, w, t; ANDQ t, w; \
	RORXQ $5, w, t; ANDQ t, w

// RUNSEEN takes RUN13's w and, when a run starts at bit 51 at most in it
// (as a rotation's wrapped ones start after it), notes it for the block
// at at: runLast is that block, and runFirst, if unset, the block at AX
// + 1. Without one it jumps to skip.
#define RUNSEEN(w, at, skip) \
	SHLQ $12, w; JZ skip; \
	LEAQ at, R14; TESTQ R11, R11; JNZ skip; LEAQ 1(AX), R11

// FLAGGED sets r to the positions CLASSES left a class at in Y0,
// clobbering Y0.
#define FLAGGED(r) \
	VPCMPEQB Y6, Y0, Y0; VPMOVMSKB Y0, r; NOTL r

// HITAT puts the block at at, with its flagged positions r, into hits
// and compares their count with a full hits' (JLT: room for more),
// clobbering R13.
#define HITAT(r, at) \
	LEAQ at, R13; SHLQ $32, R13; ORQ r, R13; \
	MOVQ R13, (DI)(R10*8); INCQ R10; CMPQ R10, $8

// func wideScan(p *byte, n, from int, tab *wideTables, hits *[wideHits]uint64) (nhits, next, runFirst, runLast int)
//
// Looks at the trigrams ending at p[from:n] (n >= 34; from is 2, or a
// next this returned), 32 at a time, the last block ending at n and
// overlapping the one before. Each block with a flagged trigram goes into
// hits as its first position << 32 | the mask of flagged positions; when
// hits is full, it returns where to go on from (next < n). A block in
// whose own positions 13 run bytes in a row end is a run's: runFirst is
// the first such block's first position + 1 (0: none), runLast the last
// one's; where the scan takes two blocks at once, a run's in either
// counts as both blocks'.
TEXT ·wideScan(SB), NOSPLIT, $0-72
	MOVQ p+0(FP), SI
	MOVQ n+8(FP), DX
	SUBQ $32, DX         // the last block's first position
	MOVQ from+16(FP), AX // the block's first position
	MOVQ tab+24(FP), R8
	MOVQ hits+32(FP), DI
	TABLES(R8)
	XORQ R10, R10        // blocks in hits
	XORQ R11, R11        // the first run's block + 1
	XORQ R14, R14        // the last run's block
	MOVQ $32, CX         // the block's first position less the block before's
	XORQ R8, R8          // its first positions the block before covered

	// The digit mask of the 32 bytes before the block (bits 30 and 31 at
	// the start: the first two bytes, which no block starts with).
	CMPQ    AX, $2
	JNE     resume
	VMOVDQU (SI), Y0
	DIGITS(Y0, R9, R12)
	ANDL    $3, R9
	SHLL    $30, R9
	JMP     loop

resume:
	VMOVDQU -32(SI)(AX*1), Y0
	DIGITS(Y0, R9, R12)

loop:
	LEAQ 32(AX), R13
	CMPQ R13, DX
	JLE  pair

single:
	CMPQ AX, DX
	JLE  block

last:
	LEAQ 32(DX), CX      // n
	CMPQ AX, CX
	JGE  done

	// The last block ends at n; only it sets CX and R8 apart from 32 and 0.
	SUBQ AX, CX
	MOVQ AX, R8
	MOVQ DX, AX
	SUBQ AX, R8

block:
	VMOVDQU (SI)(AX*1), Y0
	VMOVDQU -1(SI)(AX*1), Y1
	VMOVDQU -2(SI)(AX*1), Y2
	CLASSES(BX)

	// This block's digit mask and the one before's as one word (bit i is
	// position AX-CX+i), then 13 ones in a row in it: a run of 13 ending
	// in this block starts at most 12 before it.
	MOVL    BX, R12
	SHLQ    CX, R12
	ORQ     R9, R12
	MOVL    BX, R9
	RUN13(R12, R13)      // on every block: a branch on a cheaper test mispredicted often
	// Runs that end in the word. Those ending in the block before too
	// (starting below 20), which that block reported already: at most
	// one block more to look at, past the last one with a run.
	RUNSEEN(R12, (AX), trigrams)

trigrams:
	VPTEST Y0, Y0
	JNZ    hit

next:
	ADDQ $32, AX
	CMPQ AX, DX
	JLE  block
	JMP  last

hit:
	FLAGGED(R12)
	MOVQ      CX, R13    // not the positions the block before had
	MOVQ      R8, CX
	SHRL      CX, R12
	SHLL      CX, R12
	MOVQ      R13, CX
	TESTL     R12, R12
	JZ        next
	HITAT(R12, (AX))
	JLT       next
	ADDQ      $32, AX    // hits is full: go on after this block
	JMP       done

	// Two full blocks, A at AX and B after it, before the last block:
	// their runs are looked for in one word of both (B:A), which holds
	// every run that starts in A or in B's first 20 positions, and, only
	// where the block before's last byte and A's first are both run
	// bytes, in the word of A and the block before (A:R9), for a run
	// across them. A pair costs one RUN13 where two blocks cost two.
pair:
	VMOVDQU (SI)(AX*1), Y0
	VMOVDQU -1(SI)(AX*1), Y1
	VMOVDQU -2(SI)(AX*1), Y2
	CLASSES(BX)
	VPTEST  Y0, Y0
	JNZ     pairHitA

pairB:
	VMOVDQU 32(SI)(AX*1), Y0
	VMOVDQU 31(SI)(AX*1), Y1
	VMOVDQU 30(SI)(AX*1), Y2
	CLASSES(R12)
	MOVL    R9, R13
	SHRL    $31, R13
	ANDL    BX, R13
	JNZ     pairCross

pairRun:
	MOVL    R12, R9      // B: the block before the next one
	SHLQ    $32, R12
	ORQ     BX, R12
	RUN13(R12, R13)
	RUNSEEN(R12, 32(AX), pairTrigrams)

pairTrigrams:
	VPTEST Y0, Y0
	JNZ    pairHitB

pairNext:
	ADDQ $64, AX
	LEAQ 32(AX), R13
	CMPQ R13, DX
	JLE  pair
	JMP  single

pairCross:
	MOVL    BX, R13
	SHLQ    $32, R13
	ORQ     R9, R13
	RUN13(R13, R8)
	XORQ    R8, R8
	RUNSEEN(R13, (AX), pairRun)
	JMP     pairRun

	// A pair's blocks have no positions the block before had (R8 is 0).
pairHitA:
	FLAGGED(R12)
	HITAT(R12, (AX))
	JLT       pairB

	// hits is full after A: its runs alone, as a block's, and go on
	// after it.
	MOVL    BX, R12
	SHLQ    $32, R12
	ORQ     R9, R12
	RUN13(R12, R13)
	RUNSEEN(R12, (AX), pairFull)

pairFull:
	ADDQ $32, AX
	JMP  done

pairHitB:
	FLAGGED(R12)
	HITAT(R12, 32(AX))
	JLT       pairNext
	ADDQ      $64, AX    // hits is full: go on after the pair

done:
	VZEROUPPER
	MOVQ R10, nhits+40(FP)
	MOVQ AX, next+48(FP)
	MOVQ R11, runFirst+56(FP)
	MOVQ R14, runLast+64(FP)
	RET

// func wideScan16(p *byte, n int, tab *wideTables) (hits uint64, digits bool)
//
// wideScan for 18 <= n < 34: one block of two 16-byte lanes, the first
// at position 2 and the second ending at n (overlapping it unless n is
// 34). hits has bit k set for a flagged trigram ending at position k.
TEXT ·wideScan16(SB), NOSPLIT, $0-33
	MOVQ    p+0(FP), SI
	MOVQ    n+8(FP), DX
	MOVQ    tab+16(FP), R8
	TABLES(R8)
	VMOVDQU (SI), X5
	DIGITS(Y5, R9, R12)
	ANDL    $3, R9       // the first two bytes, which no block starts with

	LEAQ        -16(SI)(DX*1), R12
	VMOVDQU     2(SI), X0
	VINSERTI128 $1, (R12), Y0, Y0
	VMOVDQU     1(SI), X1
	VINSERTI128 $1, -1(R12), Y1, Y1
	VMOVDQU     (SI), X2
	VINSERTI128 $1, -2(R12), Y2, Y2
	CLASSES(BX)

	// Each lane's bits to their positions: 2 on, and n-16 on.
	LEAQ      -16(DX), CX
	MOVWLZX   BX, R12
	SHLQ      $2, R12
	ORQ       R12, R9
	SHRL      $16, BX
	SHLQ      CX, BX
	ORQ       BX, R9
	VPCMPEQB  Y6, Y0, Y0
	VPMOVMSKB Y0, BX
	NOTL      BX
	MOVWLZX   BX, R10
	SHLQ      $2, R10
	SHRL      $16, BX
	SHLQ      CX, BX
	ORQ       BX, R10

	XORQ  R11, R11
	RUN13(R9, R13)       // bits 34 on are zero: nothing wraps
	SETNE R11
	VZEROUPPER
	MOVQ  R10, hits+24(FP)
	MOVB  R11, digits+32(FP)
	RET
