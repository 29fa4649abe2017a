package metadata

import "strconv"

// MimeType is a well-known MIME type id (WellKnownMimeTypes.md): 7 bits,
// 0x00..0x7F, sent in one byte with the high bit set in place of the MIME
// type's name. Ids without a name in the table are reserved; a decoder keeps
// them as they are.
type MimeType uint8

// Well-known MIME types. 0x26..0x28 are not in the specification's table
// but are sent by rsocket-java and rsocket-js 0.0.27.
const (
	ApplicationAvro            MimeType = 0x00
	ApplicationCBOR            MimeType = 0x01
	ApplicationGraphQL         MimeType = 0x02
	ApplicationGzip            MimeType = 0x03
	ApplicationJavascript      MimeType = 0x04
	ApplicationJSON            MimeType = 0x05
	ApplicationOctetStream     MimeType = 0x06
	ApplicationPDF             MimeType = 0x07
	ApplicationThrift          MimeType = 0x08
	ApplicationProtobuf        MimeType = 0x09
	ApplicationXML             MimeType = 0x0A
	ApplicationZip             MimeType = 0x0B
	AudioAAC                   MimeType = 0x0C
	AudioMP3                   MimeType = 0x0D
	AudioMP4                   MimeType = 0x0E
	AudioMPEG3                 MimeType = 0x0F
	AudioMPEG                  MimeType = 0x10
	AudioOgg                   MimeType = 0x11
	AudioOpus                  MimeType = 0x12
	AudioVorbis                MimeType = 0x13
	ImageBMP                   MimeType = 0x14
	ImageGIF                   MimeType = 0x15
	ImageHEICSequence          MimeType = 0x16
	ImageHEIC                  MimeType = 0x17
	ImageHEIFSequence          MimeType = 0x18
	ImageHEIF                  MimeType = 0x19
	ImageJPEG                  MimeType = 0x1A
	ImagePNG                   MimeType = 0x1B
	ImageTIFF                  MimeType = 0x1C
	MultipartMixed             MimeType = 0x1D
	TextCSS                    MimeType = 0x1E
	TextCSV                    MimeType = 0x1F
	TextHTML                   MimeType = 0x20
	TextPlain                  MimeType = 0x21
	TextXML                    MimeType = 0x22
	VideoH264                  MimeType = 0x23
	VideoH265                  MimeType = 0x24
	VideoVP8                   MimeType = 0x25
	ApplicationHessian         MimeType = 0x26
	ApplicationJavaObject      MimeType = 0x27
	ApplicationCloudeventsJSON MimeType = 0x28

	// MessageMimeType is the per-stream data MIME type extension.
	MessageMimeType MimeType = 0x7A
	// MessageAcceptMimeTypes is the per-stream accepted data MIME types
	// extension.
	MessageAcceptMimeTypes MimeType = 0x7B
	// MessageAuthentication is the authentication extension.
	MessageAuthentication MimeType = 0x7C
	// MessageZipkin is the Zipkin tracing extension.
	MessageZipkin MimeType = 0x7D
	// MessageRouting is the routing extension.
	MessageRouting MimeType = 0x7E
	// MessageComposite is composite metadata.
	MessageComposite MimeType = 0x7F

	// MaxMimeType is the largest id: ids have 7 bits.
	MaxMimeType MimeType = 0x7F
)

// MIME type names of the extensions, as a SETUP frame announces them.
const (
	MIMEMimeType        = "message/x.rsocket.mime-type.v0"
	MIMEAcceptMimeTypes = "message/x.rsocket.accept-mime-types.v0"
	MIMEAuthentication  = "message/x.rsocket.authentication.v0"
	MIMEZipkin          = "message/x.rsocket.tracing-zipkin.v0"
	MIMERouting         = "message/x.rsocket.routing.v0"
	MIMEComposite       = "message/x.rsocket.composite-metadata.v0"
)

// mimeNames is the table, indexed by id; "" marks a reserved id.
var mimeNames = [MaxMimeType + 1]string{
	ApplicationAvro:            "application/avro",
	ApplicationCBOR:            "application/cbor",
	ApplicationGraphQL:         "application/graphql",
	ApplicationGzip:            "application/gzip",
	ApplicationJavascript:      "application/javascript",
	ApplicationJSON:            "application/json",
	ApplicationOctetStream:     "application/octet-stream",
	ApplicationPDF:             "application/pdf",
	ApplicationThrift:          "application/vnd.apache.thrift.binary",
	ApplicationProtobuf:        "application/vnd.google.protobuf",
	ApplicationXML:             "application/xml",
	ApplicationZip:             "application/zip",
	AudioAAC:                   "audio/aac",
	AudioMP3:                   "audio/mp3",
	AudioMP4:                   "audio/mp4",
	AudioMPEG3:                 "audio/mpeg3",
	AudioMPEG:                  "audio/mpeg",
	AudioOgg:                   "audio/ogg",
	AudioOpus:                  "audio/opus",
	AudioVorbis:                "audio/vorbis",
	ImageBMP:                   "image/bmp",
	ImageGIF:                   "image/gif",
	ImageHEICSequence:          "image/heic-sequence",
	ImageHEIC:                  "image/heic",
	ImageHEIFSequence:          "image/heif-sequence",
	ImageHEIF:                  "image/heif",
	ImageJPEG:                  "image/jpeg",
	ImagePNG:                   "image/png",
	ImageTIFF:                  "image/tiff",
	MultipartMixed:             "multipart/mixed",
	TextCSS:                    "text/css",
	TextCSV:                    "text/csv",
	TextHTML:                   "text/html",
	TextPlain:                  "text/plain",
	TextXML:                    "text/xml",
	VideoH264:                  "video/H264",
	VideoH265:                  "video/H265",
	VideoVP8:                   "video/VP8",
	ApplicationHessian:         "application/x-hessian",
	ApplicationJavaObject:      "application/x-java-object",
	ApplicationCloudeventsJSON: "application/cloudevents+json",
	MessageMimeType:            MIMEMimeType,
	MessageAcceptMimeTypes:     MIMEAcceptMimeTypes,
	MessageAuthentication:      MIMEAuthentication,
	MessageZipkin:              MIMEZipkin,
	MessageRouting:             MIMERouting,
	MessageComposite:           MIMEComposite,
}

// mimeIDs maps a name back to its id; built once from mimeNames.
var mimeIDs = func() map[string]MimeType {
	m := make(map[string]MimeType, len(mimeNames))
	for id, name := range mimeNames {
		if name != "" {
			m[name] = MimeType(id)
		}
	}
	return m
}()

// Name returns the MIME type's name, or "" for a reserved id or one above
// MaxMimeType.
func (m MimeType) Name() string {
	if m > MaxMimeType {
		return ""
	}
	return mimeNames[m]
}

// Known reports whether m has a name in the table.
func (m MimeType) Known() bool { return m.Name() != "" }

// String returns the name, or "MimeType(0xNN)" for an id without one.
func (m MimeType) String() string {
	if n := m.Name(); n != "" {
		return n
	}
	return "MimeType(0x" + strconv.FormatUint(uint64(m), 16) + ")"
}

// LookupMimeType returns the well-known id of a MIME type name. The match
// is exact (case-sensitive), as in rsocket-java and rsocket-js.
func LookupMimeType(name string) (MimeType, bool) {
	id, ok := mimeIDs[name]
	return id, ok
}
