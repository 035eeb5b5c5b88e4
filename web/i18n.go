package web

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Languages the admin speaks. The first one is the default.
const (
	langRU = "ru"
	langEN = "en"
)

// langCookie remembers the language the owner picked with the switch.
const langCookie = "hotline_lang"

var languages = []struct{ Code, Name string }{
	{langRU, "Русский"},
	{langEN, "English"},
}

// messages holds every text of the pages, by language and key. Templates read them as
// {{.T.key}}; a test checks that both languages have the same keys and that every key a
// template uses exists.
var messages = map[string]map[string]string{
	langRU: {
		"app_name":         "Горячая линия",
		"skip":             "К содержимому",
		"nav_label":        "Разделы",
		"nav_calls":        "Звонки",
		"nav_voicemail":    "Сообщения",
		"new_suffix":       "новых",
		"logout":           "Выйти",
		"language":         "Язык",
		"signed_in_as":     "Вы вошли как",
		"setup_title":      "Первый запуск",
		"setup_intro":      "Придумайте пароль, с которым вы будете входить сюда. Чтобы подтвердить, что коробка ваша, введите код настройки.",
		"setup_where":      "Код настройки — восемь цифр, например 4821-0937. Коробка показывает его при первом запуске, и он лежит в файле:",
		"setup_code":       "Код настройки",
		"setup_user":       "Имя для входа будет: owner",
		"new_password":     "Новый пароль",
		"repeat_password":  "Пароль ещё раз",
		"password_rule":    "Не короче 8 символов. Лучше несколько слов, которые легко запомнить.",
		"setup_submit":     "Сохранить и войти",
		"err_setup_code":   "Код настройки не подошёл. Проверьте цифры и попробуйте ещё раз.",
		"err_claimed":      "Коробка уже настроена. Войдите со своим паролем.",
		"err_weak":         "Пароль слишком короткий: нужно не меньше 8 символов.",
		"err_mismatch":     "Пароли не совпадают. Введите один и тот же пароль дважды.",
		"login_title":      "Вход",
		"username":         "Имя",
		"password":         "Пароль",
		"login_submit":     "Войти",
		"login_forgot":     "Забыли пароль? Его можно задать заново на самой коробке командой hotline passwd.",
		"err_login":        "Неверное имя или пароль.",
		"err_too_many":     "Слишком много попыток. Попробуйте снова через %d мин.",
		"calls_title":      "Звонки",
		"calls_empty":      "Звонков пока не было.",
		"col_time":         "Время",
		"col_number":       "Номер",
		"col_line":         "Линия",
		"col_duration":     "Длительность",
		"col_menu":         "Нажатые кнопки",
		"col_outcome":      "Итог",
		"hidden_number":    "Номер скрыт",
		"listen":           "Слушать сообщение",
		"older":            "Более ранние звонки",
		"newest":           "К последним звонкам",
		"vm_title":         "Голосовые сообщения",
		"vm_show_new":      "Новые",
		"vm_show_all":      "Все",
		"vm_show_label":    "Показать",
		"vm_empty_new":     "Новых сообщений нет.",
		"vm_empty_all":     "Сообщений пока нет.",
		"vm_from":          "От",
		"vm_recording":     "Ещё записывается",
		"vm_handled":       "Обработано",
		"vm_handled_by":    "отметил(а)",
		"vm_new":           "Новое",
		"vm_mark":          "Отметить как обработанное",
		"vm_unmark":        "Вернуть в новые",
		"vm_download":      "Скачать",
		"vm_no_audio":      "Ваш браузер не может проиграть запись. Скачайте её.",
		"vm_marked":        "Сообщение отмечено как обработанное.",
		"vm_unmarked":      "Сообщение снова в новых.",
		"out_progress":     "Идёт сейчас",
		"out_voicemail":    "Оставил(а) сообщение",
		"out_abandoned":    "Положил(а) трубку, не выбрав",
		"out_missed":       "Пропущен, не отвечен",
		"out_completed":    "Прослушал(а) информацию",
		"out_failed":       "Сбой связи",
		"err_title":        "Что-то пошло не так",
		"err_notfound":     "Такой страницы нет.",
		"err_forbidden":    "Этот запрос пришёл с другого сайта и был отклонён. Откройте страницу заново и повторите.",
		"err_role":         "У вашей учётной записи нет доступа к этой странице.",
		"err_internal":     "Внутренняя ошибка коробки. Попробуйте ещё раз через минуту.",
		"err_bad_request":  "Неправильный запрос. Откройте страницу заново и повторите.",
		"back_home":        "На главную",
		"change_password":  "Сменить пароль",
		"pw_title":         "Смена пароля",
		"pw_intro":         "Введите пароль, с которым вы вошли, и новый пароль дважды. После смены вы останетесь здесь, а на всех других устройствах вход придётся выполнить заново.",
		"current_password": "Текущий пароль",
		"pw_submit":        "Сменить пароль",
		"pw_changed":       "Пароль изменён. На других устройствах нужно войти заново.",
		"err_current":      "Текущий пароль введён неверно.",
	},
	langEN: {
		"app_name":         "Hotline",
		"skip":             "Skip to content",
		"nav_label":        "Sections",
		"nav_calls":        "Calls",
		"nav_voicemail":    "Voicemail",
		"new_suffix":       "new",
		"logout":           "Log out",
		"language":         "Language",
		"signed_in_as":     "Signed in as",
		"setup_title":      "First start",
		"setup_intro":      "Choose the password you will use to sign in here. To show that the box is yours, enter its setup code.",
		"setup_where":      "The setup code is eight digits, like 4821-0937. The box shows it when it starts for the first time, and keeps it in this file:",
		"setup_code":       "Setup code",
		"setup_user":       "Your sign-in name will be: owner",
		"new_password":     "New password",
		"repeat_password":  "Password again",
		"password_rule":    "At least 8 characters. A few words that are easy to remember work well.",
		"setup_submit":     "Save and sign in",
		"err_setup_code":   "That setup code is not right. Check the digits and try again.",
		"err_claimed":      "This box is already set up. Sign in with your password.",
		"err_weak":         "The password is too short: it needs at least 8 characters.",
		"err_mismatch":     "The passwords do not match. Type the same password twice.",
		"login_title":      "Sign in",
		"username":         "Name",
		"password":         "Password",
		"login_submit":     "Sign in",
		"login_forgot":     "Forgot the password? Set a new one on the box itself with the command hotline passwd.",
		"err_login":        "Wrong name or password.",
		"err_too_many":     "Too many attempts, try again in %d minutes.",
		"calls_title":      "Calls",
		"calls_empty":      "No calls yet.",
		"col_time":         "Time",
		"col_number":       "Number",
		"col_line":         "Line",
		"col_duration":     "Length",
		"col_menu":         "Keys pressed",
		"col_outcome":      "Result",
		"hidden_number":    "Number hidden",
		"listen":           "Listen to the message",
		"older":            "Older calls",
		"newest":           "Back to the latest calls",
		"vm_title":         "Voicemail",
		"vm_show_new":      "New",
		"vm_show_all":      "All",
		"vm_show_label":    "Show",
		"vm_empty_new":     "No new messages.",
		"vm_empty_all":     "No messages yet.",
		"vm_from":          "From",
		"vm_recording":     "Still recording",
		"vm_handled":       "Handled",
		"vm_handled_by":    "marked by",
		"vm_new":           "New",
		"vm_mark":          "Mark as handled",
		"vm_unmark":        "Mark as new again",
		"vm_download":      "Download",
		"vm_no_audio":      "Your browser cannot play this recording. Download it instead.",
		"vm_marked":        "The message is marked as handled.",
		"vm_unmarked":      "The message is back among the new ones.",
		"out_progress":     "In progress",
		"out_voicemail":    "Left a message",
		"out_abandoned":    "Hung up before choosing",
		"out_missed":       "Missed, not answered",
		"out_completed":    "Listened to the information",
		"out_failed":       "Line problem",
		"err_title":        "Something went wrong",
		"err_notfound":     "There is no such page.",
		"err_forbidden":    "This request came from another site and was refused. Open the page again and retry.",
		"err_role":         "Your account has no access to this page.",
		"err_internal":     "The box had an internal error. Try again in a minute.",
		"err_bad_request":  "The request was not understood. Open the page again and retry.",
		"back_home":        "Home",
		"change_password":  "Change password",
		"pw_title":         "Change password",
		"pw_intro":         "Enter the password you signed in with, and the new one twice. You stay signed in here; every other device has to sign in again.",
		"current_password": "Current password",
		"pw_submit":        "Change password",
		"pw_changed":       "The password is changed. Other devices have to sign in again.",
		"err_current":      "The current password is not right.",
	},
}

// outcomeKeys maps a call outcome from the store to its message key.
var outcomeKeys = map[string]string{
	"":          "out_progress",
	"voicemail": "out_voicemail",
	"abandoned": "out_abandoned",
	"missed":    "out_missed",
	"completed": "out_completed",
	"failed":    "out_failed",
}

// outcomeText says an outcome in plain words; an outcome this version does not know is shown
// as it is (the template escapes it).
func outcomeText(lang, outcome string) string {
	if k, ok := outcomeKeys[outcome]; ok {
		return messages[lang][k]
	}
	return outcome
}

// pickLang chooses the language of a request: the cookie set by the switch, then the
// browser's Accept-Language, then Russian.
func pickLang(r *http.Request) string {
	if c, err := r.Cookie(langCookie); err == nil && knownLang(c.Value) {
		return c.Value
	}
	return langFromAccept(r.Header.Get("Accept-Language"))
}

func knownLang(code string) bool {
	_, ok := messages[code]
	return ok
}

// langFromAccept returns the known language with the highest q in an Accept-Language header,
// the earlier one on ties, or the default.
func langFromAccept(header string) string {
	best, bestQ := langRU, 0.0
	for part := range strings.SplitSeq(header, ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		q := 1.0
		for p := range strings.SplitSeq(params, ";") {
			k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
			if ok && strings.EqualFold(strings.TrimSpace(k), "q") {
				f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
				if err != nil || f < 0 || f > 1 {
					f = 0
				}
				q = f
			}
		}
		primary, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(tag)), "-")
		if q > bestQ && knownLang(primary) {
			best, bestQ = primary, q
		}
	}
	return best
}

// formatTime shows a moment in the box's time zone the way people of the language write it.
func formatTime(lang string, t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return ""
	}
	t = t.In(loc)
	if lang == langEN {
		return t.Format("2 Jan 2006, 15:04")
	}
	return t.Format("02.01.2006 15:04")
}

// formatDuration shows a length as m:ss or h:mm:ss, rounded to the second.
func formatDuration(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	s := int64(d.Round(time.Second) / time.Second)
	h, m := s/3600, s/60%60
	s %= 60
	if h > 0 {
		return strconv.FormatInt(h, 10) + ":" + pad2(m) + ":" + pad2(s)
	}
	return strconv.FormatInt(m, 10) + ":" + pad2(s)
}

func pad2(n int64) string {
	if n < 10 {
		return "0" + strconv.FormatInt(n, 10)
	}
	return strconv.FormatInt(n, 10)
}
