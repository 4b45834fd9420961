"""The help guide's pages, as data: sections of numbered steps, each step with a screenshot's name.

Texts are Indonesian msgids (lazy: translated when a page is rendered). The five service pages are
built from the service catalogue when asked for (`service_page`), so what they say about who may apply,
what to prepare, deadlines and cost never drifts from what the apply pages ask.

A step's `shot` names a picture in ``eopen/static/guide/img/<shot>.webp``: the e2e tour
(e2e/test_guide_tour.py) takes it while walking the real journey, and `make guide` compresses it. Each
section of a page has its own narration, ``eopen/static/guide/audio/<page>-<section>.opus``, spoken
from the text the page shows (eopen/help/build.py). Nothing here needs a request.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

from ..services.catalogue import Service, get_catalogue

RESIDENT, STAFF = "warga", "petugas"


@dataclass(frozen=True)
class Step:
    text: str
    shot: str | None = None  # file name (without .webp) in static/guide/img
    alt: str | None = None   # what the picture shows, for people who cannot see it


@dataclass(frozen=True)
class Item:
    """An entry of a list of things: a variant who may apply, a document to prepare."""
    term: str
    text: str | None = None
    note: str | None = None  # e.g. "wajib", "opsional"


@dataclass(frozen=True)
class Section:
    id: str                       # part of the audio file's name: lower-case letters, digits, - and _
    heading: str | None = None    # None: the page's first part, under the page title
    paragraphs: tuple[str, ...] = ()
    items: tuple[Item, ...] = ()
    steps: tuple[Step, ...] = ()
    after: tuple[str, ...] = ()   # paragraphs after the steps


@dataclass(frozen=True)
class GuidePage:
    slug: str
    title: str
    summary: str
    audience: str  # RESIDENT or STAFF
    sections: tuple[Section, ...]
    service: str | None = None  # catalogue code, for the five service pages
    related: tuple[str, ...] = field(default=())  # slugs of pages to read next

    def clip(self, section: Section) -> str:
        """The narration's file name (without .opus) of one section."""
        return f"{self.slug}-{section.id}"

    @property
    def shots(self) -> list[str]:
        return [step.shot for section in self.sections for step in section.steps if step.shot]

    @property
    def clips(self) -> list[str]:
        return [self.clip(section) for section in self.sections]


def service_slug(code: str) -> str:
    return code.replace("_", "-")


# --- residents ---------------------------------------------------------------------------------

SIGN_UP = GuidePage(
    slug="daftar",
    title=_l("Mendaftar akun"),
    summary=_l("Buat akun dengan NIK dan nomor KK, lalu catat anggota keluarga Anda."),
    audience=RESIDENT,
    related=("unggah-dokumen", "pantau-permohonan"),
    sections=(
        Section(
            id="akun",
            paragraphs=(_l("Untuk mengajukan permohonan, Anda perlu akun E-Open. Mendaftar gratis. Siapkan "
                           "Kartu Keluarga (KK) Anda: NIK dan nomor KK tertulis di sana."),),
            steps=(
                Step(_l("Buka halaman depan E-Open, lalu tekan Daftar akun."), "home",
                     _l("Halaman depan E-Open di ponsel, dengan tombol Daftar akun.")),
                Step(_l("Ketik NIK dan nomor KK persis seperti tertulis di KK, lalu nama lengkap, tanggal lahir, "
                        "dan jenis kelamin."), "signup-identity",
                     _l("Formulir Daftar akun: NIK, nomor KK, nama lengkap, dan tanggal lahir sudah diisi.")),
                Step(_l("Isi nomor HP dan alamat rumah Anda: kelurahan, RW, RT, dan nama jalan. Satgas Pamor "
                        "RW Anda memakai alamat ini bila Anda minta dijemput atau diantar."), "signup-address",
                     _l("Formulir Daftar akun: nomor HP, kelurahan, RW, RT, dan alamat jalan sudah diisi.")),
                Step(_l("Buat kata sandi, ketik sekali lagi, lalu tekan Buat akun. Jangan beri tahu kata sandi "
                        "Anda kepada siapa pun, termasuk petugas."), "signup-password",
                     _l("Kolom kata sandi dan tombol Buat akun di bagian bawah formulir.")),
                Step(_l("Akun Anda sudah jadi. Halaman Keluarga saya menampilkan nomor KK, alamat, dan nama "
                        "Anda."), "household",
                     _l("Halaman Keluarga saya dengan pesan Akun Anda sudah dibuat dan daftar anggota keluarga.")),
            ),
        ),
        Section(
            id="keluarga",
            heading=_l("Menambah anggota keluarga"),
            paragraphs=(_l("Anda dapat mengajukan permohonan untuk diri sendiri dan untuk anggota keluarga "
                           "yang tercatat di KK Anda, misalnya akta kelahiran anak."),),
            steps=(
                Step(_l("Di halaman Keluarga saya, tekan Tambah anggota keluarga.")),
                Step(_l("Isi nama lengkap, tanggal lahir, jenis kelamin, dan hubungan dalam keluarga. NIK boleh "
                        "dikosongkan, misalnya untuk bayi yang baru lahir. Tekan Simpan."), "add-member",
                     _l("Formulir Tambah anggota keluarga untuk seorang bayi, tanpa NIK.")),
            ),
        ),
        Section(
            id="masuk",
            heading=_l("Masuk lagi"),
            steps=(
                Step(_l("Tekan Masuk di bagian atas layar. Ketik NIK, nomor HP, atau nama pengguna, lalu kata "
                        "sandi Anda, dan tekan Masuk."), "login",
                     _l("Halaman Masuk dengan kolom NIK, nomor HP, atau nama pengguna, dan kolom kata sandi.")),
                Step(_l("Setelah selesai, tekan Keluar, terutama bila Anda memakai ponsel orang lain.")),
            ),
        ),
    ),
)

UPLOAD = GuidePage(
    slug="unggah-dokumen",
    title=_l("Mengunggah foto dokumen"),
    summary=_l("Foto dokumen dengan kamera ponsel dan kirim satu per satu, atau ganti dengan SPTJM."),
    audience=RESIDENT,
    related=("pantau-permohonan",),
    sections=(
        Section(
            id="foto",
            paragraphs=(_l("Anda tidak perlu memindai dokumen. Foto dari kamera ponsel sudah cukup, asal "
                           "seluruh halaman terlihat dan tulisannya terbaca. Foto yang besar dikecilkan "
                           "otomatis, jadi hemat kuota."),),
            steps=(
                Step(_l("Setiap dokumen punya halamannya sendiri. Baca petunjuk di bawah judul: dokumen apa "
                        "yang diminta dan cara memotretnya."), "upload-document",
                     _l("Halaman unggah Surat keterangan lahir, dokumen 1 dari 3, dengan petunjuk memotret.")),
                Step(_l("Letakkan dokumen di tempat yang terang dan datar. Foto dari atas, tanpa lampu kilat, "
                        "sampai semua tulisan terbaca.")),
                Step(_l("Tekan Foto atau PDF dokumen, lalu ambil foto dengan kamera atau pilih foto yang sudah "
                        "ada. Berkas PDF juga boleh, sampai 15 MB."), "upload-chosen",
                     _l("Kolom Foto atau PDF dokumen dengan foto yang sudah dipilih, dan tombol Unggah.")),
                Step(_l("Tekan Unggah dan tunggu sampai halaman dokumen berikutnya muncul. Dokumen yang "
                        "opsional boleh dilewati dengan tombol Lewati, tidak punya.")),
                Step(_l("Di halaman Periksa kembali permohonan Anda, setiap dokumen tampil dengan ukurannya. "
                        "Tekan Ubah bila ada foto yang ingin diganti."), "apply-check-documents",
                     _l("Bagian dokumen di halaman Periksa kembali, dengan tautan Ubah untuk setiap dokumen.")),
            ),
        ),
        Section(
            id="sptjm",
            heading=_l("Tidak punya dokumennya?"),
            paragraphs=(_l("Untuk beberapa dokumen, misalnya surat keterangan lahir atau buku nikah, Anda dapat "
                           "membuat SPTJM, yaitu Surat Pernyataan Tanggung Jawab Mutlak: Anda menyatakan "
                           "sendiri bahwa datanya benar."),),
            steps=(
                Step(_l("Di halaman dokumen itu, tekan Tidak punya dokumen ini? Ganti dengan SPTJM."),
                     "upload-sptjm",
                     _l("Bagian SPTJM yang terbuka: isi pernyataan, kotak centang, dan tombol Buat SPTJM.")),
                Step(_l("Baca pernyataannya. Bila benar, centang kotaknya dan tekan Buat SPTJM. Pernyataan "
                        "yang tidak benar dapat dikenai sanksi hukum.")),
            ),
        ),
        Section(
            id="perbaikan",
            heading=_l("Bila petugas meminta foto baru"),
            steps=(
                Step(_l("Di halaman status permohonan, bagian kuning menyebutkan dokumen mana yang perlu "
                        "diperbaiki dan alasannya. Tekan Perbaiki permohonan."), "status-revision",
                     _l("Halaman status dengan pesan Petugas meminta Anda memperbaiki permohonan ini.")),
                Step(_l("Unggah foto pengganti untuk dokumen yang disebutkan saja, lalu tekan Kirim "
                        "perbaikan."), "revision",
                     _l("Halaman Perbaiki permohonan: alasan dari petugas dan kolom foto pengganti.")),
            ),
        ),
    ),
)

TRACKING = GuidePage(
    slug="pantau-permohonan",
    title=_l("Memantau permohonan dan tanda terima"),
    summary=_l("Nomor permohonan, tanda terima, status dan riwayat, sampai mengunduh dokumen yang terbit."),
    audience=RESIDENT,
    related=("jemput-antar", "halo-pamor"),
    sections=(
        Section(
            id="terkirim",
            paragraphs=(_l("Setelah Anda menekan Kirim permohonan, permohonan Anda mendapat nomor. Dengan "
                           "nomor itu Anda dan petugas dapat menemukan permohonan Anda."),),
            steps=(
                Step(_l("Halaman Permohonan terkirim menampilkan nomor permohonan Anda. Catat nomor ini."),
                     "confirmation",
                     _l("Halaman Permohonan terkirim dengan nomor permohonan di kotak hijau.")),
                Step(_l("Tekan Lihat dan cetak tanda terima. Tanda terima memuat nomor dan kode QR. Simpan "
                        "tangkapan layarnya atau cetak."), "receipt",
                     _l("Tanda terima permohonan dengan kode QR, nomor permohonan, dan layanan.")),
            ),
        ),
        Section(
            id="status",
            heading=_l("Melihat status"),
            steps=(
                Step(_l("Masuk, lalu tekan Permohonan saya di bagian atas layar. Semua permohonan Anda ada di "
                        "sana, yang terbaru di atas."), "requests",
                     _l("Halaman Permohonan saya dengan daftar permohonan dan statusnya.")),
                Step(_l("Tekan salah satu permohonan. Halaman status menampilkan tahapnya sekarang, sisa hari "
                        "kerja, dan riwayat setiap langkah."), "status",
                     _l("Halaman status permohonan: status Terkirim, sisa hari kerja, dan riwayat.")),
                Step(_l("Bila petugas meminta perbaikan, halaman status menyebutkan apa yang harus diganti. "
                        "Lihat panduan Mengunggah foto dokumen.")),
                Step(_l("Bila KK atau akta Anda sudah terbit, tekan Unduh dokumen (PDF) dan cetak di kertas HVS "
                        "A4. Dokumen ini sah tanpa cap basah: keasliannya dapat diperiksa dengan kode QR di "
                        "dalamnya. Kartu (KTP-el, KIA) diambil di kantor kecamatan atau diantar Satgas Pamor."),
                     "status-issued",
                     _l("Bagian Dokumen terbit dengan nomor dokumen dan tombol Unduh dokumen (PDF).")),
            ),
            after=(_l("Semua layanan gratis. Jangan memberikan uang kepada siapa pun."),),
        ),
        Section(
            id="pemberitahuan",
            heading=_l("Pemberitahuan"),
            steps=(
                Step(_l("Setiap kabar tentang permohonan Anda, misalnya bila perlu diperbaiki atau dokumennya "
                        "sudah terbit, muncul di Notifikasi pada menu. Angka di sampingnya adalah jumlah kabar yang "
                        "belum dibaca."), "notifications",
                     _l("Halaman Notifikasi dengan kabar bahwa permohonan perlu diperbaiki.")),
                Step(_l("Tekan kabarnya untuk membuka permohonan yang dimaksud.")),
                Step(_l("Ingin kabar juga lewat email, SMS, atau WhatsApp? Tekan Atur pemberitahuan lewat email, "
                        "SMS, atau WhatsApp, pilih salurannya, lalu tekan Simpan pilihan.")),
            ),
        ),
    ),
)

PICKUP = GuidePage(
    slug="jemput-antar",
    title=_l("Jemput-antar oleh Satgas Pamor"),
    summary=_l("Satgas Pamor RW Anda menjemput dokumen asli atau mengantar kartu ke rumah, dengan kode "
               "serah terima."),
    audience=RESIDENT,
    related=("pantau-permohonan",),
    sections=(
        Section(
            id="minta",
            paragraphs=(_l("Satgas Pamor adalah petugas di RW Anda. Satgas dapat datang untuk mengambil dokumen "
                           "asli yang harus diserahkan, misalnya KTP-el yang rusak, dan dapat mengantar kartu "
                           "atau dokumen cetak ke rumah. Gratis."),),
            steps=(
                Step(_l("Buka halaman status permohonan Anda, lalu tekan Minta dijemput/diantar Satgas "
                        "Pamor."), "pickup-link",
                     _l("Halaman status permohonan dengan tombol Minta dijemput/diantar Satgas Pamor.")),
                Step(_l("Pilih dijemput atau diantar, tanggal kunjungan pada hari kerja, dan waktunya: pagi, "
                        "siang, atau sore. Tulis patokan rumah bila perlu, lalu tekan Kirim permintaan."),
                     "pickup-form",
                     _l("Formulir jemput-antar: pilihan Dijemput, tanggal kunjungan, waktu pagi, dan catatan "
                        "alamat.")),
                Step(_l("Permintaan Anda tampil di halaman status bersama nama Satgas Pamor dan kode serah "
                        "terima enam angka."), "pickup-code",
                     _l("Bagian Jemput-antar di halaman status dengan kode serah terima.")),
            ),
        ),
        Section(
            id="kode",
            heading=_l("Saat Satgas Pamor datang"),
            steps=(
                Step(_l("Serahkan dokumennya atau terima kartunya, lalu tunjukkan kode serah terima kepada "
                        "Satgas. Tunjukkan kode hanya saat itu, bukan sebelumnya.")),
                Step(_l("Tidak punya ponsel? Sebutkan tanggal lahir dan 4 angka terakhir NIK Anda.")),
                Step(_l("Halaman status mencatat siapa yang sekarang membawa dokumen Anda: Satgas, kantor "
                        "kecamatan, atau Anda sendiri."), "pickup-custody",
                     _l("Bagian Dokumen fisik Anda: KTP-el yang rusak dibawa Satgas Pamor.")),
            ),
            after=(_l("Kode hanya berlaku sekali. Untuk pengantaran kartu, Anda mendapat kode baru."),),
        ),
    ),
)

HALO = GuidePage(
    slug="halo-pamor",
    title=_l("Bertanya lewat Halo Pamor"),
    summary=_l("Kirim pertanyaan atau pengaduan, dan baca jawabannya di E-Open."),
    audience=RESIDENT,
    related=("pantau-permohonan",),
    sections=(
        Section(
            id="tanya",
            paragraphs=(_l("Halo Pamor adalah tempat bertanya dan mengadu tentang layanan kependudukan. Pesan "
                           "Anda dibaca Satgas Pamor RW Anda serta operator dan penyelia kecamatan. Gratis."),),
            steps=(
                Step(_l("Masuk, lalu tekan Halo Pamor di bagian atas layar. Tekan Kirim pertanyaan atau "
                        "pengaduan."), "halo-list",
                     _l("Halaman Halo Pamor dengan tombol Kirim pertanyaan atau pengaduan.")),
                Step(_l("Pilih Pertanyaan atau Pengaduan, lalu topiknya. Bila pesan Anda tentang salah satu "
                        "permohonan Anda, pilih permohonannya."), "halo-new",
                     _l("Formulir Halo Pamor: Pertanyaan dipilih dan topik KTP-el.")),
                Step(_l("Tulis judul singkat dan pesan Anda. Jangan menulis kata sandi atau kode serah terima.")),
                Step(_l("Saat Anda menulis, jawaban untuk pertanyaan yang mirip dapat muncul. Bila sudah terjawab, "
                        "Anda tidak perlu mengirim apa pun. Bila belum, tekan Kirim."), "halo-suggest",
                     _l("Bagian Mungkin ini jawabannya di bawah pesan yang sedang ditulis, dan tombol Kirim.")),
                Step(_l("Pesan Anda menunggu jawaban. Petugas berusaha menjawab dalam satu hari kerja; pesan yang "
                        "belum dijawab setelah itu diteruskan kepada penyelia kecamatan."), "halo-thread",
                     _l("Pesan yang sudah terkirim dengan status Menunggu jawaban petugas.")),
            ),
        ),
        Section(
            id="jawaban",
            heading=_l("Membaca jawaban"),
            steps=(
                Step(_l("Bila pesan Anda dijawab, Anda mendapat notifikasi. Buka Halo Pamor dan tekan judul pesan "
                        "Anda.")),
                Step(_l("Baca jawabannya. Bila masih ada yang kurang jelas, tulis di bagian Balas dan tekan Kirim "
                        "balasan."), "halo-answered",
                     _l("Percakapan Halo Pamor dengan jawaban dari Satgas Pamor.")),
                Step(_l("Bila sudah selesai, beri penilaian bila Anda mau, lalu tekan Tutup percakapan. "
                        "Percakapan yang sudah dijawab tertutup sendiri bila tidak dibalas beberapa hari.")),
            ),
        ),
        Section(
            id="petugas",
            heading=_l("Untuk petugas: menjawab pesan warga"),
            steps=(
                Step(_l("Satgas Pamor, operator, dan penyelia membuka Halo Pamor dari menu. Pesan yang paling lama "
                        "menunggu ada di atas."), "halo-staff-list",
                     _l("Daftar pesan warga yang menunggu jawaban, dengan lama menunggunya.")),
                Step(_l("Buka pesannya, tulis jawaban dengan bahasa yang mudah dipahami, lalu tekan Kirim jawaban. "
                        "Jangan meminta kata sandi atau kode serah terima."), "halo-staff-thread",
                     _l("Pesan warga dan kolom Balasan Anda dengan tombol Kirim jawaban.")),
                Step(_l("Jawablah dalam satu hari kerja. Penyelia melihat pesan yang terlambat dan dapat menjawabnya "
                        "sendiri atau meminta Satgas Pamor atau operator menjawab.")),
            ),
        ),
    ),
)

# --- staff ---------------------------------------------------------------------------------------

OPERATOR = GuidePage(
    slug="antrean-operator",
    title=_l("Antrean dan pemeriksaan (operator)"),
    summary=_l("Ambil permohonan dari antrean, nilai setiap dokumen, lalu setujui atau kembalikan."),
    audience=STAFF,
    related=("verifikasi",),
    sections=(
        Section(
            id="antrean",
            paragraphs=(_l("Operator memeriksa permohonan dari kelurahan di kecamatannya sendiri. Yang paling "
                           "mendesak selalu di atas."),),
            steps=(
                Step(_l("Masuk, lalu tekan Kantor. Antrean permohonan menampilkan permohonan yang menunggu "
                        "diperiksa, dengan sisa waktu target.")),
                Step(_l("Cari dengan nomor permohonan, NIK, atau nama, atau saring menurut layanan dan "
                        "status, lalu tekan Terapkan."), "operator-queue",
                     _l("Antrean permohonan yang dicari dengan nomor permohonan: satu permohonan dengan layanan, "
                        "status, target selesai, dan tombol Ambil.")),
                Step(_l("Tekan Ambil pada satu permohonan. Permohonan itu menjadi tanggung jawab Anda sampai "
                        "diputuskan atau Anda lepas."), "operator-review",
                     _l("Halaman pemeriksaan: data permohonan di kiri dan dokumen persyaratan di kanan.")),
            ),
        ),
        Section(
            id="periksa",
            heading=_l("Menilai dokumen dan memutuskan"),
            steps=(
                Step(_l("Periksa setiap foto dokumen. Pilih Terima, atau Kembalikan dengan alasan dan catatan "
                        "untuk warga, lalu tekan Simpan penilaian."), "operator-document",
                     _l("Satu dokumen di halaman pemeriksaan dengan pilihan Terima dan Kembalikan.")),
                Step(_l("Di bagian Keputusan: setujui bila semua dokumen wajib diterima, kembalikan kepada "
                        "warga bila ada yang perlu diperbaiki, atau tolak bila permohonan sama sekali tidak "
                        "dapat diproses."), "operator-decision",
                     _l("Bagian Keputusan dengan catatan umum untuk warga dan tombol Kembalikan untuk "
                        "diperbaiki.")),
                Step(_l("Perbaikan dari warga kembali ke antrean Anda, di paling atas.")),
            ),
        ),
        Section(
            id="meja",
            heading=_l("Serah terima dengan Satgas Pamor"),
            steps=(
                Step(_l("Buka Serah terima dengan Satgas Pamor. Kode meja Anda tampil di layar. Satgas "
                        "mengetikkan kode itu di ponselnya saat menyerahkan dokumen warga atau mengambil kartu "
                        "untuk diantar."),
                     "operator-desk",
                     _l("Halaman Serah terima dengan kode meja operator dan daftar barang warga.")),
            ),
        ),
    ),
)

VERIFY = GuidePage(
    slug="verifikasi",
    title=_l("Verifikasi (Kasi, Kabid, Kadis)"),
    summary=_l("Periksa permohonan yang sudah disetujui operator, setujui satu per satu atau sekaligus."),
    audience=STAFF,
    related=("antrean-operator",),
    sections=(
        Section(
            id="antrean",
            paragraphs=(_l("Setelah operator menyetujui, permohonan naik ke verifikasi sesuai layanannya: Kasi "
                           "untuk KTP-el dan KK; Kasi, Kabid, lalu Kadis untuk akta."),),
            steps=(
                Step(_l("Masuk, lalu tekan Kantor. Antrean verifikasi menampilkan permohonan yang menunggu "
                        "tahap Anda, yang paling lama di atas."), "verify-queue",
                     _l("Antrean verifikasi Kasi dengan nomor permohonan, layanan, dan target selesai.")),
                Step(_l("Tekan nomor permohonan. Halaman ini menampilkan tahap verifikasi, data, dokumen, dan "
                        "catatan operator."), "verify-request",
                     _l("Halaman verifikasi satu permohonan dengan rantai Kasi, Kabid, Kadis dan dokumennya.")),
                Step(_l("Tekan Setujui permohonan ini untuk meneruskannya ke tahap berikutnya, atau Kembalikan "
                        "ke petugas dengan catatan tentang apa yang perlu diperiksa ulang."), "verify-decision",
                     _l("Bagian Keputusan Anda dengan tombol Setujui permohonan ini dan Kembalikan ke "
                        "petugas.")),
            ),
        ),
        Section(
            id="sekaligus",
            heading=_l("Menyetujui sekaligus"),
            steps=(
                Step(_l("Di antrean, centang permohonan yang sudah Anda periksa, lalu tekan Setujui yang "
                        "dipilih."), "verify-batch",
                     _l("Antrean verifikasi Kadis dengan satu permohonan dicentang dan tombol Setujui yang "
                        "dipilih.")),
                Step(_l("Setelah tahap terakhir, permohonan diteruskan ke SIAK lalu dokumennya terbit.")),
            ),
        ),
    ),
)

FIELD = GuidePage(
    slug="mode-lapangan",
    title=_l("Mode lapangan (Satgas Pamor)"),
    summary=_l("Tugas jemput-antar hari ini, serah terima dengan kode, membantu warga mengajukan, dan bekerja "
               "tanpa sinyal."),
    audience=STAFF,
    related=("jemput-antar",),
    sections=(
        Section(
            id="tugas",
            paragraphs=(_l("Mode lapangan dibuat untuk ponsel. Masuk dengan akun Satgas Anda: halaman pertama "
                           "adalah tugas hari ini."),),
            steps=(
                Step(_l("Tugas hari ini dan hari berikutnya dikelompokkan per RW. Setiap tugas menyebutkan jemput "
                        "atau antar, nama dan alamat warga, waktu, serta tombol telepon dan WhatsApp."), "field-jobs",
                     _l("Halaman Tugas hari ini dengan satu tugas jemput di RW 001.")),
                Step(_l("Buka tugasnya dan tekan Berangkat sekarang. Warga melihat bahwa Anda sedang dalam "
                        "perjalanan."), "field-job",
                     _l("Halaman satu tugas dengan tombol Berangkat sekarang.")),
                Step(_l("Di rumah warga, tekan Terima dokumen dari warga atau Serahkan kepada warga. Centang "
                        "barangnya, ketik kode dari warga, lalu tekan Simpan serah terima."), "field-handover",
                     _l("Formulir serah terima: dokumen asli dicentang dan kolom Kode dari warga.")),
                Step(_l("Tidak dapat bertemu warga? Tekan Tidak dapat diselesaikan, pilih alasannya dan "
                        "tanggal kunjungan baru.")),
            ),
        ),
        Section(
            id="kantor",
            heading=_l("Di kantor kecamatan"),
            steps=(
                Step(_l("Buka Serah terima di kantor kecamatan. Centang dokumen warga yang Anda bawa, pilih "
                        "petugas meja, dan ketik kode meja yang tampil di layarnya."), "field-desk",
                     _l("Halaman Serah terima di kantor kecamatan dengan dokumen warga dan kolom kode meja.")),
                Step(_l("Dengan cara yang sama, ambil kartu atau dokumen cetak yang siap Anda antar.")),
            ),
        ),
        Section(
            id="bantu",
            heading=_l("Membantu warga mengajukan"),
            steps=(
                Step(_l("Tekan Bantu warga mengajukan dan ketik NIK warga RW Anda. Pilih layanannya, lalu isi "
                        "permohonan bersama warga dan foto dokumennya."), "field-assist",
                     _l("Halaman Bantu warga mengajukan dengan kolom NIK warga.")),
                Step(_l("Di akhir, warga menyetujui dengan kode di ponselnya, atau dengan tanggal lahir dan 4 "
                        "angka terakhir NIK.")),
            ),
        ),
        Section(
            id="luring",
            heading=_l("Tanpa sinyal"),
            steps=(
                Step(_l("Daftar tugas dan halaman tugas yang pernah dibuka tetap dapat dibaca tanpa sinyal.")),
                Step(_l("Tindakan yang Anda simpan tanpa sinyal menunggu di ponsel dengan jamnya sendiri. "
                        "Jumlahnya tampil di atas halaman."), "field-offline",
                     _l("Pesan 1 tindakan menunggu dikirim di halaman tugas.")),
                Step(_l("Begitu sinyal kembali, tindakan dikirim berurutan. Tindakan yang ditolak server tetap "
                        "di ponsel bersama alasannya. Jangan menghapus data browser selama masih ada tindakan "
                        "yang menunggu.")),
            ),
        ),
    ),
)

# The fixed pages, in the order the index lists them (the service pages come first, from the catalogue).
RESIDENT_PAGES = (SIGN_UP, UPLOAD, TRACKING, PICKUP, HALO)
STAFF_PAGES = (OPERATOR, VERIFY, FIELD)


# --- the five services, from the catalogue ----------------------------------------------------------

def _age_text(variant) -> str | None:
    low, high = variant.min_age, variant.max_age
    if low is not None and high is not None:
        return _("Usia %(min)d sampai %(max)d tahun.", min=low, max=high)
    if high is not None:
        return _("Usia sampai %(max)d tahun.", max=high)
    if low is not None:
        return _("Usia %(min)d tahun ke atas.", min=low)
    return None


def _mode_text(mode: str) -> str:
    return {"mandatory": _("wajib"), "optional": _("opsional"),
            "sptjm": _("wajib, atau diganti SPTJM")}[mode]


def service_page(service: Service) -> GuidePage:
    """The guide page of one service, in the current language, from its catalogue entry."""
    label = _(service.label)
    slug = service_slug(service.code)
    about = [_(service.summary), _(service.description)]
    if service.output == "card":
        about.append(_("Hasilnya berupa kartu. Anda dapat mengambilnya di kantor kecamatan atau meminta "
                       "diantar Satgas Pamor."))
    else:
        about.append(_("Hasilnya berupa dokumen PDF bertanda tangan elektronik yang dapat Anda unduh dan "
                       "cetak sendiri."))
    about.append(ngettext("Target selesai: %(num)d hari kerja setelah permohonan lengkap diterima.",
                          "Target selesai: %(num)d hari kerja setelah permohonan lengkap diterima.",
                          service.target_days))
    if service.reporting_deadline_days:
        about.append(_("Batas waktu pelaporan: %(days)d hari.", days=service.reporting_deadline_days)
                     + " " + _(service.deadline_note))
    if service.free:
        about.append(_("Gratis, tidak dipungut biaya."))

    who = []
    for variant in service.variants:
        text = _(variant.description)
        age = _age_text(variant)
        who.append(Item(term=_(variant.label), text=f"{text} {age}" if age else text))

    sections = [
        Section(id="tentang", paragraphs=tuple(about)),
        Section(id="siapa", heading=_("Siapa yang dapat mengajukan"), items=tuple(who)),
    ]
    for variant in service.variants:
        items = tuple(Item(term=_(r.label), text=_(r.hint), note=_mode_text(r.mode)) for r in variant.requirements)
        paragraphs = tuple(_(note) for note in variant.notes)
        if not items:
            paragraphs += (_("Tidak ada dokumen yang perlu diunggah."),)
        heading = (_("Yang perlu disiapkan: %(variant)s", variant=_(variant.label)) if len(service.variants) > 1
                   else _("Yang perlu disiapkan"))
        sections.append(Section(id=f"syarat-{variant.code}", heading=heading, paragraphs=paragraphs,
                                items=items))

    steps = [Step(_("Masuk, lalu tekan Ajukan. Pilih %(service)s, lalu tekan Lanjut.", service=label),
                  f"apply-{slug}-service",
                  _("Halaman Pilih layanan dengan %(service)s dipilih.", service=label))]
    if len(service.variants) > 1:
        steps.append(Step(_("Pilih jenis permohonan yang sesuai dengan keperluan Anda, lalu tekan Lanjut."),
                          f"apply-{slug}-variant",
                          _("Halaman Jenis permohonan %(service)s dengan pilihan jenisnya.", service=label)))
    steps.append(Step(_("Pilih untuk siapa permohonan ini: Anda sendiri atau anggota keluarga di KK Anda."),
                      f"apply-{slug}-subject",
                      _("Halaman Untuk siapa permohonan ini dengan daftar anggota keluarga.")))
    if any(variant.fields for variant in service.variants):
        steps.append(Step(_("Isi data yang diminta, lalu tekan Simpan dan lanjut."), f"apply-{slug}-data",
                          _("Halaman Data yang diperlukan untuk %(service)s.", service=label)))
    steps.append(Step(_("Foto setiap dokumen yang diminta dan unggah satu per satu. Baca petunjuk di bawah "
                        "judul dokumen."), f"apply-{slug}-document",
                      _("Halaman unggah dokumen pertama untuk %(service)s.", service=label)))
    steps.append(Step(_("Periksa kembali semua jawaban, lalu tekan Kirim permohonan. Simpan nomor permohonan "
                        "dan tanda terimanya.")))
    sections.append(Section(id="cara", heading=_("Cara mengajukan"), steps=tuple(steps)))

    return GuidePage(slug=slug, title=label, summary=_(service.summary), audience=RESIDENT,
                     sections=tuple(sections), service=service.code,
                     related=("daftar", "unggah-dokumen", "pantau-permohonan"))


def service_pages() -> list[GuidePage]:
    return [service_page(service) for service in get_catalogue().services]


def all_pages() -> list[GuidePage]:
    """Every page, in the index's order: residents (services first), then staff."""
    return [*service_pages(), *RESIDENT_PAGES, *STAFF_PAGES]


def page_slugs() -> list[str]:
    """The slugs of all pages; no request or translation needed."""
    return [service_slug(s.code) for s in get_catalogue().services] + [p.slug for p in (*RESIDENT_PAGES,
                                                                                        *STAFF_PAGES)]


def find(slug: str) -> GuidePage | None:
    for page in (*RESIDENT_PAGES, *STAFF_PAGES):
        if page.slug == slug:
            return page
    for service in get_catalogue().services:
        if service_slug(service.code) == slug:
            return service_page(service)
    return None
